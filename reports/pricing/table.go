package pricing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// Schema is the version of the pricing file format this package reads.
const Schema = "cachebench/pricing/v1"

// DefaultFile is the name of the embedded default table, the file beside this package.
const DefaultFile = "aws-us-east-1.json"

//go:embed aws-us-east-1.json
var defaultJSON []byte

// Price is one price and where it came from.
type Price struct {
	// Value is the price (or amount, for free-tier entries) in Unit.
	Value float64 `json:"value"`
	// Unit says what Value counts, e.g. "USD per GB-second". Load accepts only the unit
	// each field is read in, so a price in another unit cannot slip through unconverted.
	Unit string `json:"unit"`
	// Source is the public page the price was checked against.
	Source string `json:"source"`
	// Checked is the date (YYYY-MM-DD) the price was checked against Source.
	Checked string `json:"checked"`
	// Note says what the entry covers and how it was verified.
	Note string `json:"note,omitempty"`
}

// Tier is one Lambda duration tier: Value applies to the month's on-demand GB-seconds
// from FromGBs up to the next tier's FromGBs (the last tier has no upper bound).
type Tier struct {
	// FromGBs is the month's cumulative GB-seconds at which the tier starts.
	FromGBs float64 `json:"from_gb_s"`
	Price
}

// Rule is a billing rule stated in words, with its source: the model implements it, the
// table records why.
type Rule struct {
	Text string `json:"text"`
	// Effective is the date (YYYY-MM-DD) the rule took effect, when AWS gave one.
	Effective string `json:"effective,omitempty"`
	Source    string `json:"source"`
	Checked   string `json:"checked"`
}

// Table holds every price the cost model uses, for one region. Get one with Default or
// Load; the model never changes it.
type Table struct {
	Schema   string `json:"schema"`
	Name     string `json:"name"`
	Region   string `json:"region"`
	Currency string `json:"currency"`
	// Checked is the date (YYYY-MM-DD) the table as a whole was last checked.
	Checked string `json:"checked"`
	// Note says what the table covers and how its figures were checked.
	Note string `json:"note,omitempty"`

	Lambda      LambdaPrices      `json:"lambda"`
	ElastiCache ElastiCachePrices `json:"elasticache"`
	DynamoDB    DynamoPrices      `json:"dynamodb"`

	// Origin is where the table was read from: a file path, or "embedded aws-us-east-1.json".
	Origin string `json:"-"`
}

// LambdaPrices are AWS Lambda's prices.
type LambdaPrices struct {
	// Duration holds the on-demand duration tiers of each architecture, in USD per GB-second.
	Duration map[Arch][]Tier `json:"duration"`
	// Requests is in USD per million requests.
	Requests Price `json:"requests"`
	// EphemeralStorage is in USD per GB-second of /tmp configured above the free 512 MB.
	EphemeralStorage Price `json:"ephemeral_storage"`
	// ProvisionedConcurrency is in USD per GB-second of concurrency configured.
	ProvisionedConcurrency map[Arch]Price `json:"provisioned_concurrency"`
	// ProvisionedDuration is in USD per GB-second of invocations served by provisioned
	// environments.
	ProvisionedDuration map[Arch]Price  `json:"provisioned_duration"`
	FreeTier            LambdaFreeTier  `json:"free_tier"`
	Rules               map[string]Rule `json:"rules,omitempty"`
}

// LambdaFreeTier is the monthly free tier: stated, applied only when LambdaUsage.FreeTier
// is set.
type LambdaFreeTier struct {
	Requests  Price `json:"requests"`
	GBSeconds Price `json:"gb_seconds"`
}

// ElastiCachePrices are Amazon ElastiCache's prices.
type ElastiCachePrices struct {
	// Nodes holds on-demand node prices by engine and node type, in USD per node-hour.
	Nodes map[Engine]map[string]Price `json:"nodes"`
	// Serverless holds ElastiCache Serverless prices by engine.
	Serverless map[Engine]ServerlessPrices `json:"serverless"`
	Rules      map[string]Rule             `json:"rules,omitempty"`
}

// ServerlessPrices are one engine's ElastiCache Serverless prices.
type ServerlessPrices struct {
	// DataStored is in USD per GB-hour.
	DataStored Price `json:"data_stored"`
	// ECPU is in USD per million ECPUs.
	ECPU Price `json:"ecpu"`
	// MinimumData is the data, in GB, every cache is metered for at least.
	MinimumData Price `json:"minimum_data"`
}

// DynamoPrices are Amazon DynamoDB's prices.
type DynamoPrices struct {
	OnDemand DynamoOnDemand  `json:"on_demand"`
	Rules    map[string]Rule `json:"rules,omitempty"`
}

// DynamoOnDemand are DynamoDB's on-demand (pay per request) prices, Standard table class.
type DynamoOnDemand struct {
	// ReadRequestUnits is in USD per million read request units.
	ReadRequestUnits Price `json:"read_request_units"`
	// WriteRequestUnits is in USD per million write request units.
	WriteRequestUnits Price `json:"write_request_units"`
	// Storage is in USD per GB-month.
	Storage Price `json:"storage"`
	// FreeStorage is the free tier's storage in GB per month: stated, never applied.
	FreeStorage Price `json:"free_storage"`
}

// The units Load accepts for each kind of entry.
const (
	unitGBSecond       = "USD per GB-second"
	unitMillionRequest = "USD per million requests"
	unitNodeHour       = "USD per node-hour"
	unitGBHour         = "USD per GB-hour"
	unitMillionECPU    = "USD per million ECPUs"
	unitGB             = "GB"
	unitMillionRRU     = "USD per million read request units"
	unitMillionWRU     = "USD per million write request units"
	unitGBMonth        = "USD per GB-month"
	unitFreeRequests   = "requests per month"
	unitFreeGBSeconds  = "GB-seconds per month"
	unitFreeGBMonth    = "GB per month"
)

// Label names the table as result.json's cost_usd.pricing does: its name, region and
// the date it was checked.
func (t *Table) Label() string {
	return t.Name + " (" + t.Region + ", checked " + t.Checked + ")"
}

// Default returns the embedded table of us-east-1 prices (aws-us-east-1.json). Each call
// returns a new Table, so a caller may change its copy.
func Default() *Table {
	t, err := parse(defaultJSON, "embedded "+DefaultFile)
	if err != nil {
		// The embedded file is checked by the package's tests; this is a build defect.
		panic(err)
	}
	return t
}

// Load reads a pricing table from path (the --pricing flag), in the format of the embedded
// aws-us-east-1.json, and validates every entry. Its errors name the file, the field and
// the fix.
func Load(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pricing file %s: %w (give --pricing a readable JSON file; %s in package reports/pricing is an example)", path, err, DefaultFile)
	}
	return parse(data, path)
}

// parse decodes and validates a table; origin names it in errors.
func parse(data []byte, origin string) (*Table, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var t Table
	if err := dec.Decode(&t); err != nil {
		return nil, decodeError(origin, data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("pricing file %s: data after the top-level object; a pricing file holds exactly one JSON object", origin)
	}
	t.Origin = origin
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// decodeError turns a JSON decoding error into one that names the file, the place and
// the fix.
func decodeError(origin string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset)
		return fmt.Errorf("pricing file %s:%d:%d: invalid JSON: %v; fix the syntax there", origin, line, col, syn)
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "the top level"
		}
		return fmt.Errorf("pricing file %s:%d:%d: %s: got a JSON %s, want %s; write the value as the format expects", origin, line, col, field, typ.Value, typ.Type)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("pricing file %s: empty; a pricing file holds one JSON object like %s", origin, DefaultFile)
	case strings.Contains(err.Error(), "unknown field"):
		return fmt.Errorf("pricing file %s: %v; remove it or fix its spelling (the fields are those of %s)", origin, err, DefaultFile)
	default:
		return fmt.Errorf("pricing file %s: %w", origin, err)
	}
}

// position returns the 1-based line and column of byte offset off in data.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// ValidationError lists every problem Validate found in a table.
type ValidationError struct {
	// Origin names the table (its file).
	Origin string
	// Problems are "field: problem; fix" sentences, in the order of the file's sections.
	Problems []string
}

// Error lists the problems, one per line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pricing file %s: %d problem", e.Origin, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p)
	}
	return b.String()
}

// Validate checks every entry of t: each price is a finite positive number in its
// expected unit with a public source URL and a checked date, the tiers start at 0 and
// rise, and both architectures and at least one ElastiCache engine are priced. It returns
// a *ValidationError listing every problem at once, or nil.
func (t *Table) Validate() error {
	v := &validator{}
	if t.Schema != Schema {
		v.addf("schema: is %q, want %q; set it to %q", t.Schema, Schema, Schema)
	}
	if t.Name == "" {
		v.addf("name: missing; name the table (e.g. aws-us-east-1)")
	}
	if t.Region == "" {
		v.addf("region: missing; give the AWS region the prices are for (e.g. us-east-1)")
	}
	if t.Currency != "USD" {
		v.addf("currency: is %q, want \"USD\"; the model computes in US dollars, convert the prices", t.Currency)
	}
	v.date("checked", t.Checked)

	l := t.Lambda
	for _, a := range sortedKeys(l.Duration) {
		if !a.valid() {
			v.addf("lambda.duration.%s: unknown architecture; use %s or %s", a, X86_64, ARM64)
		}
	}
	for _, a := range Archs() {
		tiers, ok := l.Duration[a]
		path := "lambda.duration." + string(a)
		if !ok || len(tiers) == 0 {
			v.addf("%s: missing; give the on-demand duration tiers, the first from_gb_s 0", path)
			continue
		}
		for i, tier := range tiers {
			p := fmt.Sprintf("%s[%d]", path, i)
			v.price(p, tier.Price, unitGBSecond, false)
			switch {
			case math.IsNaN(tier.FromGBs) || math.IsInf(tier.FromGBs, 0) || tier.FromGBs < 0:
				v.addf("%s.from_gb_s: %v is not a GB-second count; give where the tier starts", p, tier.FromGBs)
			case i == 0 && tier.FromGBs != 0:
				v.addf("%s.from_gb_s: is %v, want 0; the first tier starts at 0 GB-seconds", p, tier.FromGBs)
			case i > 0 && tier.FromGBs <= tiers[i-1].FromGBs:
				v.addf("%s.from_gb_s: %v does not rise above the previous tier's %v; list the tiers in order", p, tier.FromGBs, tiers[i-1].FromGBs)
			}
		}
	}
	v.price("lambda.requests", l.Requests, unitMillionRequest, false)
	v.price("lambda.ephemeral_storage", l.EphemeralStorage, unitGBSecond, false)
	v.archPrices("lambda.provisioned_concurrency", l.ProvisionedConcurrency)
	v.archPrices("lambda.provisioned_duration", l.ProvisionedDuration)
	v.price("lambda.free_tier.requests", l.FreeTier.Requests, unitFreeRequests, true)
	v.price("lambda.free_tier.gb_seconds", l.FreeTier.GBSeconds, unitFreeGBSeconds, true)
	v.rules("lambda.rules", l.Rules)

	e := t.ElastiCache
	if len(e.Nodes) == 0 {
		v.addf("elasticache.nodes: missing; give on-demand node prices under %s and/or %s", RedisOSS, Valkey)
	}
	for _, eng := range sortedKeys(e.Nodes) {
		path := "elasticache.nodes." + string(eng)
		if !eng.valid() {
			v.addf("%s: unknown engine; use %s or %s", path, RedisOSS, Valkey)
			continue
		}
		if len(e.Nodes[eng]) == 0 {
			v.addf("%s: empty; give at least one node type or remove the engine", path)
		}
		for _, nt := range sortedKeys(e.Nodes[eng]) {
			if !strings.HasPrefix(nt, "cache.") {
				v.addf("%s.%s: not an ElastiCache node type; node types are named like cache.t4g.micro", path, nt)
			}
			v.price(path+"."+nt, e.Nodes[eng][nt], unitNodeHour, false)
		}
	}
	if len(e.Serverless) == 0 {
		v.addf("elasticache.serverless: missing; give ElastiCache Serverless prices under %s and/or %s", RedisOSS, Valkey)
	}
	for _, eng := range sortedKeys(e.Serverless) {
		path := "elasticache.serverless." + string(eng)
		if !eng.valid() {
			v.addf("%s: unknown engine; use %s or %s", path, RedisOSS, Valkey)
			continue
		}
		s := e.Serverless[eng]
		v.price(path+".data_stored", s.DataStored, unitGBHour, false)
		v.price(path+".ecpu", s.ECPU, unitMillionECPU, false)
		v.price(path+".minimum_data", s.MinimumData, unitGB, true)
	}
	v.rules("elasticache.rules", e.Rules)

	d := t.DynamoDB.OnDemand
	v.price("dynamodb.on_demand.read_request_units", d.ReadRequestUnits, unitMillionRRU, false)
	v.price("dynamodb.on_demand.write_request_units", d.WriteRequestUnits, unitMillionWRU, false)
	v.price("dynamodb.on_demand.storage", d.Storage, unitGBMonth, false)
	v.price("dynamodb.on_demand.free_storage", d.FreeStorage, unitFreeGBMonth, true)
	v.rules("dynamodb.rules", t.DynamoDB.Rules)

	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Origin: t.Origin, Problems: v.problems}
}

// validator collects the problems of one Validate call.
type validator struct {
	problems []string
}

func (v *validator) addf(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

// price checks one entry; allowZero admits 0 (free-tier amounts, minimums).
func (v *validator) price(path string, p Price, unit string, allowZero bool) {
	switch {
	case math.IsNaN(p.Value) || math.IsInf(p.Value, 0):
		v.addf("%s.value: %v is not a number; give the price from the source page", path, p.Value)
	case p.Value < 0 || (p.Value == 0 && !allowZero):
		want := "a positive"
		if allowZero {
			want = "a non-negative"
		}
		v.addf("%s.value: is %v, want %s number of %s; give the figure from the source page", path, p.Value, want, unit)
	}
	if p.Unit != unit {
		if p.Unit == "" {
			v.addf("%s.unit: missing; set it to %q (the unit the model reads the value in)", path, unit)
		} else {
			v.addf("%s.unit: is %q, want %q; convert the value to %s and set the unit", path, p.Unit, unit, unit)
		}
	}
	v.source(path, p.Source)
	v.date(path+".checked", p.Checked)
}

// archPrices checks a per-architecture price map.
func (v *validator) archPrices(path string, m map[Arch]Price) {
	for _, a := range sortedKeys(m) {
		if !a.valid() {
			v.addf("%s.%s: unknown architecture; use %s or %s", path, a, X86_64, ARM64)
		}
	}
	for _, a := range Archs() {
		p, ok := m[a]
		if !ok {
			v.addf("%s.%s: missing; give its price in %s", path, a, unitGBSecond)
			continue
		}
		v.price(path+"."+string(a), p, unitGBSecond, false)
	}
}

// rules checks the rules present: each states its text, source and checked date.
func (v *validator) rules(path string, m map[string]Rule) {
	for _, name := range sortedKeys(m) {
		r := m[name]
		p := path + "." + name
		if strings.TrimSpace(r.Text) == "" {
			v.addf("%s.text: missing; state the rule in words", p)
		}
		if r.Effective != "" {
			v.date(p+".effective", r.Effective)
		}
		v.source(p, r.Source)
		v.date(p+".checked", r.Checked)
	}
}

func (v *validator) source(path, s string) {
	if s == "" {
		v.addf("%s.source: missing; give the public page the figure was checked against (an https URL)", path)
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.addf("%s.source: %q is not a web address; give the public page as an https URL", path, s)
	}
}

func (v *validator) date(path, s string) {
	if s == "" {
		v.addf("%s: missing; give the date it was checked, as YYYY-MM-DD", path)
		return
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		v.addf("%s: %q is not a date; write it as YYYY-MM-DD", path, s)
	}
}

func sortedKeys[K ~string, V any](m map[K]V) []K { return slices.Sorted(maps.Keys(m)) }
