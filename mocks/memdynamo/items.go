package memdynamo

import (
	"cmp"
	"encoding/json"
	"slices"
	"sync"
)

// Batch limits DynamoDB enforces.
const (
	maxBatchGetKeys  = 100
	maxBatchGetBytes = 16 * 1024 * 1024
)

// ---- capacity ----

// writeUnits prices a write of an item of size bytes on demand: one write
// unit per started KB, and at least one.
func writeUnits(size int) float64 {
	return float64(max(1, (size+1023)/1024))
}

// readUnits prices a read: one read unit per started 4 KB (at least one) for
// a strongly consistent read, half that for an eventually consistent one.
func readUnits(size int, consistent bool) float64 {
	units := float64(max(1, (size+4095)/4096))
	if consistent {
		return units
	}
	return units / 2
}

type capacityUnits struct {
	CapacityUnits float64
}

type consumedCapacity struct {
	TableName     string
	CapacityUnits float64
	Table         *capacityUnits `json:",omitempty"`
}

// capacityMode validates ReturnConsumedCapacity.
func capacityMode(mode string) error {
	switch mode {
	case "", "NONE", "TOTAL", "INDEXES":
		return nil
	}
	return validationf("1 validation error detected: Value '%s' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]", mode)
}

// consumed returns the ConsumedCapacity to report, or nil when none was asked.
func consumed(mode, tableName string, units float64) *consumedCapacity {
	switch mode {
	case "TOTAL":
		return &consumedCapacity{TableName: tableName, CapacityUnits: units}
	case "INDEXES":
		return &consumedCapacity{TableName: tableName, CapacityUnits: units, Table: &capacityUnits{units}}
	}
	return nil
}

// legacyParams are DynamoDB's pre-expression parameters. memdynamo rejects
// them rather than ignoring a condition it does not evaluate.
type legacyParams struct {
	Expected            json.RawMessage
	ConditionalOperator json.RawMessage
}

func (l *legacyParams) check() error {
	params := []struct {
		name string
		raw  json.RawMessage
	}{{"Expected", l.Expected}, {"ConditionalOperator", l.ConditionalOperator}}
	for _, p := range params {
		if len(p.raw) > 0 && !isJSONNull(p.raw) {
			return validationf("memdynamo (in-memory L3 stand-in, not DynamoDB) does not support the legacy parameter %s; use expressions", p.name)
		}
	}
	return nil
}

func checkReturnValues(rv string, allowed ...string) error {
	if rv == "" || rv == "NONE" || slices.Contains(allowed, rv) {
		return nil
	}
	return validationf("Return values set to invalid value")
}

func checkReturnValuesOnConditionCheckFailure(rv string) error {
	switch rv {
	case "", "NONE", "ALL_OLD":
		return nil
	}
	return validationf("1 validation error detected: Value '%s' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]", rv)
}

// writeOptions are the expression parameters shared by PutItem and DeleteItem.
type writeOptions struct {
	ConditionExpression                 *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]*value
	ReturnValues                        string
	ReturnConsumedCapacity              string
	ReturnItemCollectionMetrics         string
	ReturnValuesOnConditionCheckFailure string
	legacyParams
}

// prepare validates the options and parses the condition (nil when there is
// none).
func (o *writeOptions) prepare(allowedReturn ...string) (cond, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if err := capacityMode(o.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if err := checkReturnValues(o.ReturnValues, allowedReturn...); err != nil {
		return nil, err
	}
	if err := checkReturnValuesOnConditionCheckFailure(o.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	ctx, err := newExprContext(o.ExpressionAttributeNames, o.ExpressionAttributeValues, o.ConditionExpression != nil)
	if err != nil {
		return nil, err
	}
	var c cond
	if o.ConditionExpression != nil {
		if c, err = parseCondition(*o.ConditionExpression, ctx); err != nil {
			return nil, err
		}
	}
	if err := ctx.checkUnused(); err != nil {
		return nil, err
	}
	return c, nil
}

// checkCondition evaluates c against the current item (nil if none).
func (o *writeOptions) checkCondition(c cond, old *storedItem) error {
	if c == nil {
		return nil
	}
	var attrs map[string]*value
	if old != nil {
		attrs = old.attrs
	}
	if c.eval(attrs) {
		return nil
	}
	if o.ReturnValuesOnConditionCheckFailure == "ALL_OLD" {
		return conditionalCheckFailed(attrs)
	}
	return conditionalCheckFailed(nil)
}

type writeOutput struct {
	Attributes       itemJSON          `json:",omitempty"`
	ConsumedCapacity *consumedCapacity `json:",omitempty"`
}

// ---- PutItem ----

type putItemInput struct {
	TableName *string
	Item      map[string]*value
	writeOptions
}

func (s *Server) putItem(in *putItemInput) (any, error) {
	t, err := s.lookup(in.TableName, itemTableNotFound)
	if err != nil {
		return nil, err
	}
	size, err := validateItem(in.Item)
	if err != nil {
		return nil, err
	}
	key, err := t.itemKeyOf(in.Item)
	if err != nil {
		return nil, err
	}
	c, err := in.prepare("ALL_OLD")
	if err != nil {
		return nil, err
	}
	now := s.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweepExpiredLocked(now)
	old := t.getLocked(key)
	if err := in.checkCondition(c, old); err != nil {
		return nil, err
	}
	t.putLocked(key, in.Item, size, now)
	units := writeUnits(size)
	var out writeOutput
	if old != nil {
		units = max(units, writeUnits(old.size))
		if in.ReturnValues == "ALL_OLD" {
			out.Attributes = old.attrs
		}
	}
	out.ConsumedCapacity = consumed(in.ReturnConsumedCapacity, t.name, units)
	return out, nil
}

// ---- DeleteItem ----

type deleteItemInput struct {
	TableName *string
	Key       map[string]*value
	writeOptions
}

func (s *Server) deleteItem(in *deleteItemInput) (any, error) {
	t, err := s.lookup(in.TableName, itemTableNotFound)
	if err != nil {
		return nil, err
	}
	if err := validateKeyValues(in.Key); err != nil {
		return nil, err
	}
	key, err := t.keyOf(in.Key)
	if err != nil {
		return nil, err
	}
	c, err := in.prepare("ALL_OLD")
	if err != nil {
		return nil, err
	}
	now := s.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweepExpiredLocked(now)
	old := t.getLocked(key)
	if err := in.checkCondition(c, old); err != nil {
		return nil, err
	}
	var out writeOutput
	units := writeUnits(0)
	if old != nil {
		t.deleteLocked(key)
		units = writeUnits(old.size)
		if in.ReturnValues == "ALL_OLD" {
			out.Attributes = old.attrs
		}
	}
	out.ConsumedCapacity = consumed(in.ReturnConsumedCapacity, t.name, units)
	return out, nil
}

// ---- GetItem ----

// readOptions are the projection parameters of GetItem and of each table in
// BatchGetItem.
type readOptions struct {
	ConsistentRead           bool
	ProjectionExpression     *string
	ExpressionAttributeNames map[string]string
	AttributesToGet          []string
}

// projection validates the options and returns the paths to project, or nil
// for the whole item.
func (o *readOptions) projection() ([]docPath, error) {
	if o.ProjectionExpression != nil && o.AttributesToGet != nil {
		return nil, validationf("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}")
	}
	if o.AttributesToGet != nil {
		if len(o.AttributesToGet) == 0 {
			return nil, validationf("1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
		if firstDuplicate(o.AttributesToGet) {
			return nil, validationf("One or more parameter values were invalid: Duplicate value in attribute name: %v", o.AttributesToGet)
		}
		paths := make([]docPath, len(o.AttributesToGet))
		for i, n := range o.AttributesToGet {
			paths[i] = docPath{{name: n}}
		}
		return paths, nil
	}
	if o.ProjectionExpression != nil && o.ExpressionAttributeNames == nil {
		if paths, ok := projections.get(*o.ProjectionExpression); ok {
			return paths, nil
		}
	}
	ctx, err := newExprContext(o.ExpressionAttributeNames, nil, o.ProjectionExpression != nil)
	if err != nil {
		return nil, err
	}
	if o.ProjectionExpression == nil {
		return nil, nil
	}
	paths, err := parseProjection(*o.ProjectionExpression, ctx)
	if err != nil {
		return nil, err
	}
	if err := ctx.checkUnused(); err != nil {
		return nil, err
	}
	if o.ExpressionAttributeNames == nil {
		projections.put(*o.ProjectionExpression, paths)
	}
	return paths, nil
}

// projections keeps the paths of valid projection expressions that use no attribute
// names, which a client repeats on every read (cachecore's L3 projects one attribute),
// so each is parsed once. The paths are only read. It holds at most
// maxCachedProjections expressions; past that, others are parsed each time.
var projections projectionCache

const maxCachedProjections = 256

type projectionCache struct {
	mu    sync.RWMutex
	paths map[string][]docPath
}

func (c *projectionCache) get(expr string) ([]docPath, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.paths[expr]
	return p, ok
}

func (c *projectionCache) put(expr string, paths []docPath) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paths == nil {
		c.paths = map[string][]docPath{}
	}
	if len(c.paths) < maxCachedProjections {
		c.paths[expr] = paths
	}
}

type getItemInput struct {
	TableName              *string
	Key                    map[string]*value
	ReturnConsumedCapacity string
	readOptions
}

type getItemOutput struct {
	// Item is a pointer so that an existing item whose projection matches no
	// attribute is returned as "Item":{} and not taken for a missing item.
	Item             *itemJSON         `json:",omitempty"`
	ConsumedCapacity *consumedCapacity `json:",omitempty"`
}

func (s *Server) getItem(in *getItemInput) (any, error) {
	t, err := s.lookup(in.TableName, itemTableNotFound)
	if err != nil {
		return nil, err
	}
	if err := validateKeyValues(in.Key); err != nil {
		return nil, err
	}
	key, err := t.keyOf(in.Key)
	if err != nil {
		return nil, err
	}
	if err := capacityMode(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	paths, err := in.projection()
	if err != nil {
		return nil, err
	}
	t.mu.RLock()
	it := t.getLocked(key)
	t.mu.RUnlock()
	var out getItemOutput
	size := 0
	if it != nil {
		size = it.size
		item := itemJSON(it.attrs)
		if paths != nil {
			item = project(it.attrs, paths)
		}
		out.Item = &item
	}
	out.ConsumedCapacity = consumed(in.ReturnConsumedCapacity, t.name, readUnits(size, in.ConsistentRead))
	return out, nil
}

// ---- BatchGetItem ----

type keysAndAttributes struct {
	Keys []map[string]*value
	readOptions
}

type batchGetItemInput struct {
	RequestItems           map[string]*keysAndAttributes
	ReturnConsumedCapacity string
}

type batchGetItemOutput struct {
	Responses        map[string][]itemJSON
	UnprocessedKeys  map[string]*keysAndAttributesOut
	ConsumedCapacity []*consumedCapacity `json:",omitempty"`
}

type keysAndAttributesOut struct {
	Keys                     []itemJSON
	ConsistentRead           bool              `json:",omitempty"`
	ProjectionExpression     *string           `json:",omitempty"`
	ExpressionAttributeNames map[string]string `json:",omitempty"`
	AttributesToGet          []string          `json:",omitempty"`
}

type batchGetPlan struct {
	t     *table
	name  string // as given in the request
	req   *keysAndAttributes
	keys  []string
	paths []docPath
}

func (s *Server) batchGetItem(in *batchGetItemInput) (any, error) {
	if len(in.RequestItems) == 0 {
		return nil, validationf("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if err := capacityMode(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	var plans []*batchGetPlan
	total := 0
	for name, req := range in.RequestItems {
		n := name
		t, err := s.lookup(&n, itemTableNotFound)
		if err != nil {
			return nil, err
		}
		if req == nil || len(req.Keys) == 0 {
			return nil, validationf("1 validation error detected: Value null at 'requestItems.%s.member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1", name)
		}
		total += len(req.Keys)
		if total > maxBatchGetKeys {
			return nil, validationf("Too many items requested for the BatchGetItem call")
		}
		p := &batchGetPlan{t: t, name: name, req: req}
		seen := map[string]bool{}
		for _, k := range req.Keys {
			if err := validateKeyValues(k); err != nil {
				return nil, err
			}
			key, err := t.keyOf(k)
			if err != nil {
				return nil, err
			}
			if seen[key] {
				return nil, validationf("Provided list of item keys contains duplicates")
			}
			seen[key] = true
			p.keys = append(p.keys, key)
		}
		if p.paths, err = req.projection(); err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	slices.SortFunc(plans, func(a, b *batchGetPlan) int { return cmp.Compare(a.name, b.name) })

	out := batchGetItemOutput{Responses: map[string][]itemJSON{}, UnprocessedKeys: map[string]*keysAndAttributesOut{}}
	bytes := 0
	for _, p := range plans {
		items := []itemJSON{}
		units := 0.0
		var unprocessed []itemJSON
		p.t.mu.RLock()
		for i, key := range p.keys {
			it := p.t.getLocked(key)
			if it != nil && bytes+it.size > maxBatchGetBytes {
				unprocessed = append(unprocessed, p.req.Keys[i])
				continue
			}
			size := 0
			if it != nil {
				size = it.size
				bytes += it.size
				attrs := it.attrs
				if p.paths != nil {
					attrs = project(attrs, p.paths)
				}
				items = append(items, attrs)
			}
			units += readUnits(size, p.req.ConsistentRead)
		}
		p.t.mu.RUnlock()
		out.Responses[p.name] = items
		if len(unprocessed) > 0 {
			out.UnprocessedKeys[p.name] = &keysAndAttributesOut{
				Keys:                     unprocessed,
				ConsistentRead:           p.req.ConsistentRead,
				ProjectionExpression:     p.req.ProjectionExpression,
				ExpressionAttributeNames: p.req.ExpressionAttributeNames,
				AttributesToGet:          p.req.AttributesToGet,
			}
		}
		if c := consumed(in.ReturnConsumedCapacity, p.t.name, units); c != nil {
			out.ConsumedCapacity = append(out.ConsumedCapacity, c)
		}
	}
	return out, nil
}

// ---- dispatch ----

// operation decodes a request body into In and runs fn on it.
func operation[In any](fn func(*In) (any, error)) func([]byte) (any, error) {
	return func(body []byte) (any, error) {
		in := new(In)
		if err := decodeRequest(body, in); err != nil {
			return nil, err
		}
		return fn(in)
	}
}

// handlerFor returns the implementation of a DynamoDB operation, or nil.
func (s *Server) handlerFor(op string) func([]byte) (any, error) {
	switch op {
	case "CreateTable":
		return operation(s.createTable)
	case "DescribeTable":
		return operation(s.describeTable)
	case "DeleteTable":
		return operation(s.deleteTable)
	case "ListTables":
		return operation(s.listTables)
	case "UpdateTimeToLive":
		return operation(s.updateTimeToLive)
	case "DescribeTimeToLive":
		return operation(s.describeTimeToLive)
	case "PutItem":
		return operation(s.putItem)
	case "GetItem":
		return operation(s.getItem)
	case "DeleteItem":
		return operation(s.deleteItem)
	case "BatchGetItem":
		return operation(s.batchGetItem)
	}
	return nil
}

// isDynamoDBOperation reports whether op is a real DynamoDB operation that
// memdynamo does not implement, for a clearer error message. UpdateItem and
// BatchWriteItem are among them: nothing that runs against memdynamo calls them.
func isDynamoDBOperation(op string) bool {
	switch op {
	case "BatchExecuteStatement", "BatchWriteItem", "CreateBackup", "CreateGlobalTable", "DeleteBackup",
		"DeleteResourcePolicy", "DescribeBackup", "DescribeContinuousBackups",
		"DescribeContributorInsights", "DescribeEndpoints", "DescribeExport",
		"DescribeGlobalTable", "DescribeGlobalTableSettings", "DescribeImport",
		"DescribeKinesisStreamingDestination", "DescribeLimits",
		"DescribeTableReplicaAutoScaling", "DisableKinesisStreamingDestination",
		"EnableKinesisStreamingDestination", "ExecuteStatement", "ExecuteTransaction",
		"ExportTableToPointInTime", "GetResourcePolicy", "ImportTable", "ListBackups",
		"ListContributorInsights", "ListExports", "ListGlobalTables", "ListImports",
		"ListTagsOfResource", "PutResourcePolicy", "Query", "RestoreTableFromBackup",
		"RestoreTableToPointInTime", "Scan", "TagResource", "TransactGetItems",
		"TransactWriteItems", "UntagResource", "UpdateContinuousBackups",
		"UpdateContributorInsights", "UpdateGlobalTable", "UpdateGlobalTableSettings", "UpdateItem",
		"UpdateKinesisStreamingDestination", "UpdateTable", "UpdateTableReplicaAutoScaling":
		return true
	}
	return false
}

func unsupportedOperation(op string) *apiError {
	if isDynamoDBOperation(op) {
		return unknownOperationf("memdynamo (in-memory L3 stand-in, not DynamoDB) does not implement %s", op)
	}
	return unknownOperationf("Unknown operation: %q", op)
}
