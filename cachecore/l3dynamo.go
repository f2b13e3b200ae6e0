package cachecore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// DynamoAPI is the part of *dynamodb.Client a DynamoTier calls, so tests and wrappers
// (throttling injectors, cost meters) can stand in for it. BatchWriteItem is not called
// by the tier (it takes no condition, so it cannot carry the version guard); it is part
// of the interface for tools that bulk-load or clear the table through the same value.
type DynamoAPI interface {
	GetItem(ctx context.Context, params *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, params *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, params *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchGetItem(ctx context.Context, params *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, params *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	CreateTable(ctx context.Context, params *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, params *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, params *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	DescribeTimeToLive(ctx context.Context, params *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
}

var _ DynamoAPI = (*dynamodb.Client)(nil)

// DynamoConfig configures a DynamoTier.
type DynamoConfig struct {
	// Now is the clock the tier judges entries' retention by (the TTL attribute a write
	// gets, and the read-time expiry check); nil means time.Now. Set it to Config.Now's
	// clock when that is simulated.
	Now func() time.Time
	// Client is required.
	Client DynamoAPI
	// Table is the table's name, 3 to 255 characters; "" means "cachebench-cache".
	Table string
	// CompressAbove compresses values of at least this many bytes; 0 means 1024, and a
	// negative value means never (except for an item that would not fit otherwise).
	CompressAbove int
	// ConsistentRead makes reads strongly consistent, at twice the read units.
	ConsistentRead bool
}

// DefaultDynamoTable is the table of a DynamoTier whose Table is empty.
const DefaultDynamoTable = "cachebench-cache"

// Attribute names of a DynamoTier item.
const (
	dynamoAttrKey     = "pk"         // S: the cache key; the table's hash key
	dynamoAttrEnv     = "env"        // B: the envelope (EncodeEntry)
	dynamoAttrVersion = "version"    // N: Entry.Version, for the condition
	dynamoAttrExpires = "expires_at" // N: Unix seconds of the retention end; the TTL attribute
)

const (
	// dynamoMaxItem is DynamoDB's item size limit, 400 KB, and dynamoItemMargin what
	// dynamoItemSize keeps below it for what its estimate leaves out.
	dynamoMaxItem    = 400 * 1024
	dynamoItemMargin = 1024
	// dynamoBatchGetMax is BatchGetItem's limit of keys per call.
	dynamoBatchGetMax = 100
	// dynamoBatchGetAttempts bounds the calls made for one chunk of a GetMulti while
	// DynamoDB returns UnprocessedKeys (throttling, or 16 MB responses).
	dynamoBatchGetAttempts = 8
	// dynamoGetConcurrency and dynamoSetConcurrency bound a GetMulti's parallel
	// BatchGetItem calls and a SetMulti's parallel PutItem calls.
	dynamoGetConcurrency = 4
	dynamoSetConcurrency = 8
	// dynamoActiveWait bounds NewDynamoTier's wait for a new table to become ACTIVE.
	dynamoActiveWait = 2 * time.Minute
)

// DynamoTier is the L3: one item per key in a DynamoDB table whose hash key is pk,
// written with a condition that keeps a lower version from replacing a higher one, and
// kept by DynamoDB's TTL until the end of the entry's retention. DynamoDB deletes expired
// items lazily (up to days later), so reads check retention themselves.
type DynamoTier struct {
	client         DynamoAPI
	table          string
	compressAbove  int // 0 = never
	consistentRead bool
	stats          tierStatCounters
	now            func() time.Time
}

var _ Tier = (*DynamoTier)(nil)

// NewDynamoTier returns an L3 over cfg.Table, creating the table when it does not exist
// (pk S hash key, on-demand billing), waiting until it is ACTIVE, and enabling its TTL
// on expires_at. It is idempotent: many processes may call it at once on one table.
func NewDynamoTier(ctx context.Context, cfg DynamoConfig) (*DynamoTier, error) {
	if cfg.Client == nil {
		return nil, errors.New("dynamodb tier: Client is required")
	}
	table := cfg.Table
	if table == "" {
		table = DefaultDynamoTable
	}
	if n := len(table); n < 3 || n > 255 {
		return nil, fmt.Errorf("dynamodb tier: table name %q has %d characters, want 3 to 255", table, n)
	}
	d := &DynamoTier{
		client:         cfg.Client,
		table:          table,
		compressAbove:  compressThreshold(cfg.CompressAbove),
		consistentRead: cfg.ConsistentRead,
		now:            time.Now,
	}
	if cfg.Now != nil {
		d.now = cfg.Now
	}
	if err := d.ensureTable(ctx); err != nil {
		return nil, fmt.Errorf("dynamodb tier: table %s: %w", table, err)
	}
	if err := d.ensureTTL(ctx); err != nil {
		return nil, fmt.Errorf("dynamodb tier: table %s: time to live: %w", table, err)
	}
	return d, nil
}

// ensureTable creates the table unless it exists, then waits until it can serve. It
// describes first, so a role without dynamodb:CreateTable works on an existing table.
func (d *DynamoTier) ensureTable(ctx context.Context) error {
	out, err := d.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(d.table)})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		_, err = d.client.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(d.table),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(dynamoAttrKey), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(dynamoAttrKey), KeyType: types.KeyTypeHash}},
			BillingMode:          types.BillingModePayPerRequest,
		})
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) { // in use: someone else created it meanwhile
			return fmt.Errorf("create: %w", err)
		}
		out = nil
	case err != nil:
		return fmt.Errorf("describe: %w", err)
	}

	wctx, cancel := context.WithTimeout(ctx, dynamoActiveWait)
	defer cancel()
	delay := 50 * time.Millisecond
	for {
		if out != nil && out.Table != nil {
			if err := checkKeySchema(out.Table); err != nil {
				return err
			}
			// UPDATING tables serve reads and writes, as ACTIVE ones do.
			if s := out.Table.TableStatus; s == types.TableStatusActive || s == types.TableStatusUpdating {
				return nil
			}
		}
		select {
		case <-wctx.Done():
			status := "unknown"
			if out != nil && out.Table != nil {
				status = string(out.Table.TableStatus)
			}
			return fmt.Errorf("not ACTIVE after %s (status %s): %w", dynamoActiveWait, status, wctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
		out, err = d.client.DescribeTable(wctx, &dynamodb.DescribeTableInput{TableName: aws.String(d.table)})
		if err != nil && !errors.As(err, &notFound) { // not found: creation not visible yet
			return fmt.Errorf("describe: %w", err)
		}
	}
}

// checkKeySchema says what is wrong with an existing table's key for this tier.
func checkKeySchema(t *types.TableDescription) error {
	if len(t.KeySchema) == 0 { // some stand-ins leave it out
		return nil
	}
	if len(t.KeySchema) != 1 || aws.ToString(t.KeySchema[0].AttributeName) != dynamoAttrKey || t.KeySchema[0].KeyType != types.KeyTypeHash {
		return fmt.Errorf("the table exists with another key schema; want a single hash key %q of type S", dynamoAttrKey)
	}
	for _, a := range t.AttributeDefinitions {
		if aws.ToString(a.AttributeName) == dynamoAttrKey && a.AttributeType != types.ScalarAttributeTypeS {
			return fmt.Errorf("the table's key %q has type %s, want S", dynamoAttrKey, a.AttributeType)
		}
	}
	return nil
}

// ensureTTL enables the table's TTL on expires_at unless it is on (or turning on).
func (d *DynamoTier) ensureTTL(ctx context.Context) error {
	desc, err := d.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(d.table)})
	if err == nil && desc.TimeToLiveDescription != nil {
		attr := aws.ToString(desc.TimeToLiveDescription.AttributeName)
		switch desc.TimeToLiveDescription.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			if attr == dynamoAttrExpires || attr == "" {
				return nil
			}
			return fmt.Errorf("enabled on attribute %q; this tier needs it on %q", attr, dynamoAttrExpires)
		case types.TimeToLiveStatusDisabling:
			return errors.New("being disabled; DynamoDB refuses to enable it again until that ends (up to an hour)")
		}
	}
	// A failed describe (some emulators lack it) falls through to the update, which says
	// whether TTL is already on.
	_, err = d.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(d.table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(dynamoAttrExpires), Enabled: aws.Bool(true),
		},
	})
	if err == nil {
		return nil
	}
	// DynamoDB (and DynamoDB Local) answer a second enable, or one racing another
	// process's, with a ValidationException "TimeToLive is already enabled".
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationException" &&
		strings.Contains(strings.ToLower(apiErr.ErrorMessage()), "already enabled") {
		return nil
	}
	return fmt.Errorf("enable on %s: %w", dynamoAttrExpires, err)
}

// Name returns "l3".
func (d *DynamoTier) Name() string { return "l3" }

// Table returns the name of the tier's table.
func (d *DynamoTier) Table() string { return d.table }

// Stats returns a snapshot of the tier's counters.
func (d *DynamoTier) Stats() TierStats { return d.stats.snapshot() }

func (d *DynamoTier) addCapacity(read bool, cc ...types.ConsumedCapacity) {
	var units float64
	for _, c := range cc {
		units += aws.ToFloat64(c.CapacityUnits)
	}
	if len(cc) > 0 {
		d.stats.capacityReports.Add(1)
	}
	if units == 0 {
		return
	}
	if read {
		d.stats.readUnits.Add(units)
		d.stats.reportedRead.Add(units)
	} else {
		d.stats.writeUnits.Add(units)
		d.stats.reportedWrite.Add(units)
	}
}

func (d *DynamoTier) addCapacityPtr(read bool, c *types.ConsumedCapacity) {
	if c != nil {
		d.addCapacity(read, *c)
	}
}

func dynamoKey(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{dynamoAttrKey: &types.AttributeValueMemberS{Value: key}}
}

// decodeItem turns an item into an entry: an item without a readable envelope is
// corrupt, and one whose retention has ended (DynamoDB's TTL deletion lags) is a miss.
// It counts the outcome.
func (d *DynamoTier) decodeItem(item map[string]types.AttributeValue, now time.Time) (Entry, bool) {
	if item == nil {
		d.stats.misses.Add(1)
		return Entry{}, false
	}
	var e Entry
	err := ErrBadEnvelope
	if b, ok := item[dynamoAttrEnv].(*types.AttributeValueMemberB); ok {
		e, err = DecodeEntry(b.Value)
	}
	return d.stats.admit(e, err, now)
}

// Get returns the entry stored for key.
func (d *DynamoTier) Get(ctx context.Context, key string) (Entry, bool, error) {
	d.stats.gets.Add(1)
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              aws.String(d.table),
		Key:                    dynamoKey(key),
		ConsistentRead:         aws.Bool(d.consistentRead),
		ProjectionExpression:   aws.String(dynamoAttrEnv), // the envelope holds everything
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		d.stats.errors.Add(1)
		return Entry{}, false, fmt.Errorf("dynamodb tier: GetItem %s: %w", key, err)
	}
	d.addCapacityPtr(true, out.ConsumedCapacity)
	e, ok := d.decodeItem(out.Item, d.now())
	return e, ok, nil
}

// GetMulti returns the entries for keys, in order: BatchGetItem calls of up to 100 keys
// (a few at once), each retrying its UnprocessedKeys with bounded, jittered backoff. If
// keys remain unprocessed after that, or a call fails, the entries found so far are
// returned with the error.
func (d *DynamoTier) GetMulti(ctx context.Context, keys []string) ([]Entry, []bool, error) {
	entries := make([]Entry, len(keys))
	found := make([]bool, len(keys))
	if len(keys) == 0 {
		return entries, found, nil
	}
	d.stats.gets.Add(uint64(len(keys)))
	// BatchGetItem refuses duplicate keys: look each up once, answer every position.
	where := make(map[string][]int, len(keys))
	unique := make([]string, 0, len(keys))
	for i, k := range keys {
		if _, seen := where[k]; !seen {
			unique = append(unique, k)
		}
		where[k] = append(where[k], i)
	}
	items := make(map[string]map[string]types.AttributeValue, len(unique))
	unresolved := make(map[string]bool)
	var mu sync.Mutex // guards items, unresolved and errs
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, dynamoGetConcurrency)
	for start := 0; start < len(unique); start += dynamoBatchGetMax {
		chunk := unique[start:min(start+dynamoBatchGetMax, len(unique))]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			got, pending, err := d.batchGet(ctx, chunk)
			mu.Lock()
			defer mu.Unlock()
			for k, item := range got {
				items[k] = item
			}
			for _, k := range pending {
				unresolved[k] = true
			}
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()

	now := d.now()
	for _, k := range unique {
		idx := where[k]
		if unresolved[k] {
			// Not known to be absent: its call failed or gave up. An error, not a miss.
			d.stats.errors.Add(uint64(len(idx)))
			continue
		}
		for _, i := range idx {
			entries[i], found[i] = d.decodeItem(items[k], now)
		}
	}
	if len(errs) > 0 {
		return entries, found, fmt.Errorf("dynamodb tier: BatchGetItem of %d keys (%d unresolved): %w", len(keys), len(unresolved), errors.Join(errs...))
	}
	return entries, found, nil
}

// batchGet reads up to 100 distinct keys, retrying unprocessed ones a bounded number of
// times. It returns the items found and, with an error, the keys whose presence it could
// not learn; any other key of keys does not exist.
func (d *DynamoTier) batchGet(ctx context.Context, keys []string) (got map[string]map[string]types.AttributeValue, pending []string, err error) {
	got = make(map[string]map[string]types.AttributeValue, len(keys))
	req := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		req[i] = dynamoKey(k)
	}
	keysOf := func(req []map[string]types.AttributeValue) []string {
		ks := make([]string, 0, len(req))
		for _, r := range req {
			if pk, ok := r[dynamoAttrKey].(*types.AttributeValueMemberS); ok {
				ks = append(ks, pk.Value)
			}
		}
		return ks
	}
	delay := 25 * time.Millisecond
	for attempt := 1; ; attempt++ {
		out, err := d.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{d.table: {
				Keys:                 req,
				ConsistentRead:       aws.Bool(d.consistentRead),
				ProjectionExpression: aws.String(dynamoAttrKey + "," + dynamoAttrEnv),
			}},
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return got, keysOf(req), err
		}
		d.addCapacity(true, out.ConsumedCapacity...)
		for _, item := range out.Responses[d.table] {
			if pk, ok := item[dynamoAttrKey].(*types.AttributeValueMemberS); ok {
				got[pk.Value] = item
			}
		}
		un := out.UnprocessedKeys[d.table].Keys
		if len(un) == 0 {
			return got, nil, nil
		}
		if attempt >= dynamoBatchGetAttempts {
			return got, keysOf(un), fmt.Errorf("%d keys still unprocessed after %d attempts (throttled?)", len(un), attempt)
		}
		// Full jitter: sleep a random time up to the current step.
		select {
		case <-ctx.Done():
			return got, keysOf(un), ctx.Err()
		case <-time.After(time.Duration(rand.Int64N(int64(delay))) + time.Millisecond):
		}
		delay = min(delay*2, time.Second)
		req = un
	}
}

// dynamoItemSize estimates an item's size as DynamoDB counts it: each attribute's name
// plus its value (strings and binaries by length; numbers at most 21 bytes).
func dynamoItemSize(key string, env []byte, hasExpiry bool) int {
	n := len(dynamoAttrKey) + len(key) + len(dynamoAttrEnv) + len(env) + len(dynamoAttrVersion) + 21
	if hasExpiry {
		n += len(dynamoAttrExpires) + 21
	}
	return n
}

// item builds the item for e, or says why not: ok=false for an entry already dead,
// oversize=true for one too big for DynamoDB even compressed.
func (d *DynamoTier) item(key string, e Entry, now time.Time) (item map[string]types.AttributeValue, size int, ok, oversize bool) {
	ret := e.retention(now)
	if ret < 0 {
		return nil, 0, false, false
	}
	env := EncodeEntry(e, d.compressAbove)
	size = dynamoItemSize(key, env, ret > 0)
	triedCompression := d.compressAbove > 0 && len(e.Value) >= d.compressAbove
	if size > dynamoMaxItem-dynamoItemMargin && len(e.Value) > 0 && !triedCompression {
		env = EncodeEntry(e, 1) // compress whatever the threshold: it may then fit
		size = dynamoItemSize(key, env, ret > 0)
	}
	if size > dynamoMaxItem-dynamoItemMargin {
		return nil, size, false, true
	}
	item = map[string]types.AttributeValue{
		dynamoAttrKey:     &types.AttributeValueMemberS{Value: key},
		dynamoAttrEnv:     &types.AttributeValueMemberB{Value: env},
		dynamoAttrVersion: &types.AttributeValueMemberN{Value: strconv.FormatInt(e.Version, 10)},
	}
	if ret > 0 {
		end := e.ExpiresAt
		if e.StaleUntil.After(end) {
			end = e.StaleUntil
		}
		item[dynamoAttrExpires] = &types.AttributeValueMemberN{Value: strconv.FormatInt(end.Unix(), 10)}
	}
	return item, size, true, false
}

// SetIfNewer stores e under key unless the table holds a higher version: a PutItem with
// the condition "attribute_not_exists(pk) OR version <= :v". An entry already dead is not
// written, nor one too big for an item (counted in Stats().Oversize); both give false.
func (d *DynamoTier) SetIfNewer(ctx context.Context, key string, e Entry) (bool, error) {
	item, size, ok, oversize := d.item(key, e, d.now())
	if oversize {
		d.stats.oversize.Add(1)
		return false, nil
	}
	if !ok {
		return false, nil
	}
	out, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(d.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(" + dynamoAttrKey + ") OR " + dynamoAttrVersion + " <= :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": item[dynamoAttrVersion]},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// A refused write still costs write units, which the error does not report: they
		// follow the size of the item already there, estimated as this one's (1 per KB).
		d.stats.writeUnits.Add(float64((size + 1023) / 1024))
		d.stats.setsRejected.Add(1)
		return false, nil
	}
	if err != nil {
		d.stats.errors.Add(1)
		return false, fmt.Errorf("dynamodb tier: PutItem %s: %w", key, err)
	}
	d.addCapacityPtr(false, out.ConsumedCapacity)
	d.stats.sets.Add(1)
	d.stats.setBytes.Add(uint64(size))
	return true, nil
}

// SetMulti stores entries, each guarded like SetIfNewer, with up to 8 PutItem calls at
// once. BatchWriteItem would take 25 items per call, but it accepts no condition
// expression, so it cannot keep an older version from replacing a newer one.
func (d *DynamoTier) SetMulti(ctx context.Context, keys []string, entries []Entry) error {
	if len(keys) != len(entries) {
		return fmt.Errorf("dynamodb tier: SetMulti with %d keys and %d entries", len(keys), len(entries))
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, dynamoSetConcurrency)
	for i := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := d.SetIfNewer(ctx, keys[i], entries[i]); err != nil {
				mu.Lock()
				if len(errs) < 3 {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("dynamodb tier: SetMulti of %d entries: %w", len(keys), errors.Join(errs...))
	}
	return nil
}

// Delete removes key whatever its version.
func (d *DynamoTier) Delete(ctx context.Context, key string) error {
	out, err := d.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:              aws.String(d.table),
		Key:                    dynamoKey(key),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		d.stats.errors.Add(1)
		return fmt.Errorf("dynamodb tier: DeleteItem %s: %w", key, err)
	}
	d.addCapacityPtr(false, out.ConsumedCapacity)
	d.stats.deletes.Add(1)
	return nil
}
