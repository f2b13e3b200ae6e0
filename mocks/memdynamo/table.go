package memdynamo

import (
	"container/heap"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Limits DynamoDB enforces on keys and items.
const (
	maxItemBytes      = 400 * 1024
	maxHashKeyBytes   = 2048
	maxRangeKeyBytes  = 1024
	maxTableNameBytes = 255
	minTableNameBytes = 3

	// fakeAccount and fakeRegion appear in table ARNs.
	fakeAccount = "000000000000"
	fakeRegion  = "us-east-1"

	// maxSweepPerWrite bounds the TTL deletions one write request performs, so
	// that expiry never adds more than a little latency to a single request.
	maxSweepPerWrite = 256
	// ttlIgnoreYears is how far in the past a TTL may be before DynamoDB stops
	// deleting the item: values more than five years old are ignored.
	ttlIgnoreYears = 5
)

type keyAttr struct {
	name string
	t    attrType
}

// storedItem is an item and its DynamoDB size, kept to price reads and
// deletes without recomputing it.
type storedItem struct {
	attrs map[string]*value
	size  int
}

// table is one DynamoDB table. The fields above mu never change after
// CreateTable; the ones below it are guarded by mu.
type table struct {
	name               string
	arn                string
	id                 string
	created            time.Time
	hash               keyAttr
	rng                keyAttr // rng.name is empty when the table has no sort key
	attrDefs           []attributeDefinition
	keySchema          []keySchemaElement
	billingMode        string
	rcu, wcu           int64
	deletionProtection bool

	mu        sync.RWMutex
	items     map[string]*storedItem
	sizeBytes int64
	ttlAttr   string // empty when TTL is disabled
	expiries  expiryHeap
}

// ---- keys ----

func keyPart(b []byte, v *value) []byte {
	raw := v.s
	if v.t == typeB {
		raw = string(v.b)
	}
	b = binary.AppendUvarint(b, uint64(len(raw)))
	return append(b, raw...)
}

// checkKeyValue applies DynamoDB's rules for one key attribute value.
func checkKeyValue(name string, v *value, isHash bool) error {
	n := len(v.s)
	if v.t == typeB {
		n = len(v.b)
		if n == 0 {
			return validationf("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: %s", name)
		}
	}
	if v.t == typeS && n == 0 {
		return validationf("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: %s", name)
	}
	if isHash && n > maxHashKeyBytes {
		return validationf("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of %d bytes", maxHashKeyBytes)
	}
	if !isHash && n > maxRangeKeyBytes {
		return validationf("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of %d bytes", maxRangeKeyBytes)
	}
	return nil
}

func (t *table) keyAttrs() []keyAttr {
	if t.rng.name == "" {
		return []keyAttr{t.hash}
	}
	return []keyAttr{t.hash, t.rng}
}

// keyOf returns the storage key of a Key parameter, which must hold exactly
// the table's key attributes with their declared types.
func (t *table) keyOf(key map[string]*value) (string, error) {
	if key == nil {
		return "", validationf("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null")
	}
	attrs := t.keyAttrs()
	if len(key) != len(attrs) {
		return "", validationf("The provided key element does not match the schema")
	}
	var b []byte
	for i, ka := range attrs {
		v := key[ka.name]
		if v == nil || v.t != ka.t {
			return "", validationf("The provided key element does not match the schema")
		}
		if err := checkKeyValue(ka.name, v, i == 0); err != nil {
			return "", err
		}
		b = keyPart(b, v)
	}
	return string(b), nil
}

// itemKeyOf returns the storage key of a whole item.
func (t *table) itemKeyOf(item map[string]*value) (string, error) {
	var b []byte
	for i, ka := range t.keyAttrs() {
		v := item[ka.name]
		if v == nil {
			return "", validationf("One or more parameter values were invalid: Missing the key %s in the item", ka.name)
		}
		if v.t != ka.t {
			return "", validationf("One or more parameter values were invalid: Type mismatch for key %s expected: %s actual: %s", ka.name, ka.t, v.t)
		}
		if err := checkKeyValue(ka.name, v, i == 0); err != nil {
			return "", err
		}
		b = keyPart(b, v)
	}
	return string(b), nil
}

// validateItem checks an Item parameter: attribute names, nesting and size.
// It returns the item's size.
func validateItem(item map[string]*value) (int, error) {
	if item == nil {
		return 0, validationf("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null")
	}
	for k, v := range item {
		if k == "" {
			return 0, validationf("One or more parameter values were invalid: An attribute name may not be empty")
		}
		if v == nil {
			return 0, errEmptyAttributeValue()
		}
		if v.depth() > maxNestingDepth {
			return 0, validationf("Nesting Levels have exceeded supported limits")
		}
	}
	size := itemSize(item)
	if size > maxItemBytes {
		return 0, validationf("Item size has exceeded the maximum allowed size")
	}
	return size, nil
}

// validateKeyValues checks the values of a Key parameter before the schema
// check.
func validateKeyValues(key map[string]*value) error {
	for _, v := range key {
		if v == nil {
			return errEmptyAttributeValue()
		}
	}
	return nil
}

// ---- storage (callers hold t.mu) ----

func (t *table) getLocked(key string) *storedItem { return t.items[key] }

func (t *table) putLocked(key string, item map[string]*value, size int, now time.Time) {
	if old := t.items[key]; old != nil {
		t.sizeBytes -= int64(old.size)
	}
	t.items[key] = &storedItem{attrs: item, size: size}
	t.sizeBytes += int64(size)
	t.trackExpiryLocked(key, item, now)
}

func (t *table) deleteLocked(key string) {
	if old := t.items[key]; old != nil {
		t.sizeBytes -= int64(old.size)
		delete(t.items, key)
	}
}

// ---- TTL ----

type expiry struct {
	at  int64 // Unix seconds
	key string
}

// expiryHeap is a min-heap of item expiry times. Entries go stale when an
// item is rewritten or deleted; they are checked against the item when popped.
type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// expiryOf returns the TTL of item as Unix seconds, if it has one DynamoDB
// would act on: a Number attribute named by the table's TTL setting.
func (t *table) expiryOf(item map[string]*value) (int64, bool) {
	if t.ttlAttr == "" {
		return 0, false
	}
	v := item[t.ttlAttr]
	if v == nil || v.t != typeN {
		return 0, false
	}
	return v.number().unixSeconds()
}

func (t *table) trackExpiryLocked(key string, item map[string]*value, now time.Time) {
	at, ok := t.expiryOf(item)
	if !ok || at < now.AddDate(-ttlIgnoreYears, 0, 0).Unix() {
		return
	}
	heap.Push(&t.expiries, expiry{at: at, key: key})
	if len(t.expiries) > 2*len(t.items)+1024 {
		t.rebuildExpiriesLocked(now)
	}
}

func (t *table) rebuildExpiriesLocked(now time.Time) {
	t.expiries = t.expiries[:0]
	if t.ttlAttr == "" {
		t.expiries = nil
		return
	}
	oldest := now.AddDate(-ttlIgnoreYears, 0, 0).Unix()
	for k, it := range t.items {
		if at, ok := t.expiryOf(it.attrs); ok && at >= oldest {
			t.expiries = append(t.expiries, expiry{at: at, key: k})
		}
	}
	heap.Init(&t.expiries)
}

// sweepExpiredLocked deletes up to maxSweepPerWrite items whose TTL has
// passed. It runs only on writes, so expired items stay readable for a while,
// as they do in DynamoDB.
func (t *table) sweepExpiredLocked(now time.Time) {
	if t.ttlAttr == "" {
		return
	}
	nowSec := now.Unix()
	oldest := now.AddDate(-ttlIgnoreYears, 0, 0).Unix()
	for n := 0; n < maxSweepPerWrite && len(t.expiries) > 0 && t.expiries[0].at < nowSec; n++ {
		e := heap.Pop(&t.expiries).(expiry)
		it := t.items[e.key]
		if it == nil {
			continue
		}
		if at, ok := t.expiryOf(it.attrs); ok && at == e.at && at >= oldest {
			t.deleteLocked(e.key)
		}
	}
}

// ---- table API shapes ----

type attributeDefinition struct {
	AttributeName string
	AttributeType string
}

type keySchemaElement struct {
	AttributeName string
	KeyType       string
}

type provisionedThroughput struct {
	ReadCapacityUnits  *int64
	WriteCapacityUnits *int64
}

type provisionedThroughputDescription struct {
	NumberOfDecreasesToday int64
	ReadCapacityUnits      int64
	WriteCapacityUnits     int64
}

type billingModeSummary struct {
	BillingMode                       string
	LastUpdateToPayPerRequestDateTime float64
}

type tableDescription struct {
	AttributeDefinitions      []attributeDefinition
	BillingModeSummary        *billingModeSummary `json:",omitempty"`
	CreationDateTime          float64
	DeletionProtectionEnabled bool
	ItemCount                 int64
	KeySchema                 []keySchemaElement
	ProvisionedThroughput     provisionedThroughputDescription
	TableArn                  string
	TableId                   string
	TableName                 string
	TableSizeBytes            int64
	TableStatus               string
}

func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (t *table) describe(status string) *tableDescription {
	t.mu.RLock()
	count, size := int64(len(t.items)), t.sizeBytes
	t.mu.RUnlock()
	d := &tableDescription{
		AttributeDefinitions:      t.attrDefs,
		CreationDateTime:          epochSeconds(t.created),
		DeletionProtectionEnabled: t.deletionProtection,
		ItemCount:                 count,
		KeySchema:                 t.keySchema,
		ProvisionedThroughput:     provisionedThroughputDescription{ReadCapacityUnits: t.rcu, WriteCapacityUnits: t.wcu},
		TableArn:                  t.arn,
		TableId:                   t.id,
		TableName:                 t.name,
		TableSizeBytes:            size,
		TableStatus:               status,
	}
	if t.billingMode == "PAY_PER_REQUEST" {
		d.BillingModeSummary = &billingModeSummary{BillingMode: t.billingMode, LastUpdateToPayPerRequestDateTime: epochSeconds(t.created)}
	}
	return d
}

// ---- table names ----

func validTableNameChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isIdentChar(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func checkTableName(name string) error {
	switch {
	case len(name) < minTableNameBytes:
		return validationf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to %d", name, minTableNameBytes)
	case len(name) > maxTableNameBytes:
		return validationf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must have length less than or equal to %d", name, maxTableNameBytes)
	case !validTableNameChars(name):
		return validationf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name)
	}
	return nil
}

// tableNameArg validates a TableName parameter. Item and table operations
// (but not CreateTable) also accept a table ARN, as DynamoDB does.
func tableNameArg(name *string, allowARN bool) (string, error) {
	if name == nil {
		return "", validationf("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	n := *name
	if allowARN && strings.HasPrefix(n, "arn:") {
		_, tail, ok := strings.Cut(n, ":table/")
		if !ok || strings.Contains(tail, "/") {
			return "", validationf("Invalid TableName: %q is not a table ARN", n)
		}
		n = tail
	}
	if err := checkTableName(n); err != nil {
		return "", err
	}
	return n, nil
}

// ---- table operations ----

type createTableInput struct {
	TableName                 *string
	AttributeDefinitions      []attributeDefinition
	KeySchema                 []keySchemaElement
	BillingMode               string
	ProvisionedThroughput     *provisionedThroughput
	GlobalSecondaryIndexes    []any
	LocalSecondaryIndexes     []any
	StreamSpecification       *struct{ StreamEnabled bool }
	DeletionProtectionEnabled bool
}

type tableDescriptionOutput struct {
	TableDescription *tableDescription
}

func newTableID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newTable validates a CreateTable request and builds the table it describes.
func newTable(in *createTableInput, now time.Time) (*table, error) {
	name, err := tableNameArg(in.TableName, false)
	if err != nil {
		return nil, err
	}
	ks := in.KeySchema
	switch {
	case len(ks) == 0:
		return nil, validationf("1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: Member must not be null")
	case len(ks) > 2:
		return nil, validationf("1 validation error detected: Value '%d' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2", len(ks))
	}
	for i, k := range ks {
		if k.AttributeName == "" || len(k.AttributeName) > 255 {
			return nil, validationf("1 validation error detected: Value '%s' at 'keySchema.%d.member.attributeName' failed to satisfy constraint: Member must have length between 1 and 255", k.AttributeName, i+1)
		}
		if k.KeyType != "HASH" && k.KeyType != "RANGE" {
			return nil, validationf("1 validation error detected: Value '%s' at 'keySchema.%d.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]", k.KeyType, i+1)
		}
	}
	if ks[0].KeyType != "HASH" {
		return nil, validationf("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
	}
	if len(ks) == 2 {
		if ks[1].KeyType != "RANGE" {
			return nil, validationf("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
		}
		if ks[0].AttributeName == ks[1].AttributeName {
			return nil, validationf("Both the Hash Key and the Range Key element in the KeySchema have the same name")
		}
	}
	if len(in.AttributeDefinitions) == 0 {
		return nil, validationf("1 validation error detected: Value null at 'attributeDefinitions' failed to satisfy constraint: Member must not be null")
	}
	defs := map[string]attrType{}
	var defNames []string
	for i, d := range in.AttributeDefinitions {
		t, ok := parseAttrType(d.AttributeType)
		if !ok || (t != typeS && t != typeN && t != typeB) {
			return nil, validationf("1 validation error detected: Value '%s' at 'attributeDefinitions.%d.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", d.AttributeType, i+1)
		}
		if _, dup := defs[d.AttributeName]; dup {
			return nil, validationf("Cannot have two attributes with the same name")
		}
		defs[d.AttributeName] = t
		defNames = append(defNames, d.AttributeName)
	}
	var keyNames []string
	for _, k := range ks {
		keyNames = append(keyNames, k.AttributeName)
	}
	for _, k := range keyNames {
		if _, ok := defs[k]; !ok {
			return nil, validationf("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]",
				strings.Join(keyNames, ", "), strings.Join(defNames, ", "))
		}
	}
	if len(in.GlobalSecondaryIndexes) > 0 || len(in.LocalSecondaryIndexes) > 0 {
		return nil, validationf("memdynamo (in-memory L3 stand-in, not DynamoDB) does not support secondary indexes")
	}
	if len(defs) != len(ks) {
		return nil, validationf("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
	}
	if in.StreamSpecification != nil && in.StreamSpecification.StreamEnabled {
		return nil, validationf("memdynamo (in-memory L3 stand-in, not DynamoDB) does not support DynamoDB Streams")
	}
	mode := in.BillingMode
	if mode == "" {
		mode = "PROVISIONED"
	}
	var rcu, wcu int64
	switch mode {
	case "PROVISIONED":
		pt := in.ProvisionedThroughput
		if pt == nil || pt.ReadCapacityUnits == nil || pt.WriteCapacityUnits == nil {
			return nil, validationf("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
		rcu, wcu = *pt.ReadCapacityUnits, *pt.WriteCapacityUnits
		if rcu < 1 || wcu < 1 {
			return nil, validationf("1 validation error detected: Value '%d' at 'provisionedThroughput' failed to satisfy constraint: Member must have value greater than or equal to 1", min(rcu, wcu))
		}
	case "PAY_PER_REQUEST":
		if in.ProvisionedThroughput != nil {
			return nil, validationf("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
	default:
		return nil, validationf("1 validation error detected: Value '%s' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]", in.BillingMode)
	}
	t := &table{
		name:               name,
		arn:                fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", fakeRegion, fakeAccount, name),
		id:                 newTableID(),
		created:            now,
		hash:               keyAttr{name: ks[0].AttributeName, t: defs[ks[0].AttributeName]},
		attrDefs:           slices.Clone(in.AttributeDefinitions),
		keySchema:          slices.Clone(ks),
		billingMode:        mode,
		rcu:                rcu,
		wcu:                wcu,
		deletionProtection: in.DeletionProtectionEnabled,
		items:              map[string]*storedItem{},
	}
	if len(ks) == 2 {
		t.rng = keyAttr{name: ks[1].AttributeName, t: defs[ks[1].AttributeName]}
	}
	return t, nil
}

func (s *Server) createTable(in *createTableInput) (any, error) {
	t, err := newTable(in, s.clock())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.tables[t.name]; exists {
		return nil, resourceInUsef("Table already exists: %s", t.name)
	}
	if s.tables == nil {
		s.tables = map[string]*table{}
	}
	s.tables[t.name] = t
	return tableDescriptionOutput{t.describe("ACTIVE")}, nil
}

type tableNameInput struct {
	TableName *string
}

// lookup returns the named table or ResourceNotFoundException with msg.
func (s *Server) lookup(name *string, msg func(string) *apiError) (*table, error) {
	n, err := tableNameArg(name, true)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	t := s.tables[n]
	s.mu.RUnlock()
	if t == nil {
		return nil, msg(n)
	}
	return t, nil
}

func tableNotFoundNamed(name string) *apiError {
	return resourceNotFoundf("Requested resource not found: Table: %s not found", name)
}

func itemTableNotFound(string) *apiError { return errTableNotFound() }

func (s *Server) describeTable(in *tableNameInput) (any, error) {
	t, err := s.lookup(in.TableName, tableNotFoundNamed)
	if err != nil {
		return nil, err
	}
	return struct{ Table *tableDescription }{t.describe("ACTIVE")}, nil
}

func (s *Server) deleteTable(in *tableNameInput) (any, error) {
	t, err := s.lookup(in.TableName, tableNotFoundNamed)
	if err != nil {
		return nil, err
	}
	if t.deletionProtection {
		return nil, validationf("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
	}
	s.mu.Lock()
	if s.tables[t.name] != t {
		s.mu.Unlock()
		return nil, tableNotFoundNamed(t.name)
	}
	delete(s.tables, t.name)
	s.mu.Unlock()
	return tableDescriptionOutput{t.describe("DELETING")}, nil
}

type listTablesInput struct {
	ExclusiveStartTableName *string
	Limit                   *int
}

type listTablesOutput struct {
	TableNames             []string
	LastEvaluatedTableName string `json:",omitempty"`
}

func (s *Server) listTables(in *listTablesInput) (any, error) {
	limit := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 100 {
			return nil, validationf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100", *in.Limit)
		}
		limit = *in.Limit
	}
	s.mu.RLock()
	names := make([]string, 0, len(s.tables))
	for n := range s.tables {
		if in.ExclusiveStartTableName == nil || n > *in.ExclusiveStartTableName {
			names = append(names, n)
		}
	}
	s.mu.RUnlock()
	slices.Sort(names)
	out := listTablesOutput{TableNames: names}
	if len(names) > limit {
		out.TableNames = names[:limit]
		out.LastEvaluatedTableName = names[limit-1]
	}
	return out, nil
}

type timeToLiveSpecification struct {
	AttributeName *string
	Enabled       *bool
}

type updateTimeToLiveInput struct {
	TableName               *string
	TimeToLiveSpecification *timeToLiveSpecification
}

type timeToLiveSpecificationOut struct {
	AttributeName string
	Enabled       bool
}

func (s *Server) updateTimeToLive(in *updateTimeToLiveInput) (any, error) {
	t, err := s.lookup(in.TableName, tableNotFoundNamed)
	if err != nil {
		return nil, err
	}
	spec := in.TimeToLiveSpecification
	if spec == nil || spec.AttributeName == nil || spec.Enabled == nil {
		return nil, validationf("1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null")
	}
	attr := *spec.AttributeName
	if attr == "" || len(attr) > 255 {
		return nil, validationf("1 validation error detected: Value '%s' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length between 1 and 255", attr)
	}
	now := s.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case *spec.Enabled && t.ttlAttr != "":
		return nil, validationf("TimeToLive is already enabled")
	case !*spec.Enabled && t.ttlAttr == "":
		return nil, validationf("TimeToLive is already disabled")
	case !*spec.Enabled && t.ttlAttr != attr:
		return nil, validationf("TimeToLive is active on a different AttributeName: current AttributeName is %s", t.ttlAttr)
	}
	if *spec.Enabled {
		t.ttlAttr = attr
	} else {
		t.ttlAttr = ""
	}
	t.rebuildExpiriesLocked(now)
	return struct {
		TimeToLiveSpecification timeToLiveSpecificationOut
	}{timeToLiveSpecificationOut{AttributeName: attr, Enabled: *spec.Enabled}}, nil
}

type timeToLiveDescription struct {
	TimeToLiveStatus string
	AttributeName    string `json:",omitempty"`
}

func (s *Server) describeTimeToLive(in *tableNameInput) (any, error) {
	t, err := s.lookup(in.TableName, tableNotFoundNamed)
	if err != nil {
		return nil, err
	}
	t.mu.RLock()
	attr := t.ttlAttr
	t.mu.RUnlock()
	d := timeToLiveDescription{TimeToLiveStatus: "DISABLED"}
	if attr != "" {
		d = timeToLiveDescription{TimeToLiveStatus: "ENABLED", AttributeName: attr}
	}
	return struct{ TimeToLiveDescription timeToLiveDescription }{d}, nil
}
