package memdynamo

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// Client reaches a Server in process, with the AWS SDK's method set for the operations
// cachecore's DynamoDB tier makes. GetItem and PutItem, the operations of every cache
// read and write, skip the SDK's middleware, JSON and HTTP: their inputs become the
// Server's own values and go to the same operations its HTTP handler calls, so
// validation, conditions, projections, TTL and consumed capacity are one
// implementation, and their errors are the SDK's typed errors (wrapped in a
// smithy.OperationError, as the SDK wraps them). A call with a parameter the direct
// path does not take (a legacy parameter, AttributesToGet, a missing table name or
// key, which the SDK itself refuses) and every other operation go through the embedded
// SDK client of the same Server. TestClientMatchesSDK runs both paths over the same calls.
//
// The virtual clock's runs use it: on simulated time the network is a model, and the
// SDK's stack cost a quarter of a simulated day's wall time.
type Client struct {
	*dynamodb.Client // every operation but the direct GetItem and PutItem
	s                *Server
}

// NewClient returns a Client of s; sdk is an SDK client of s (over HTTP to its
// handler), for the operations the direct path does not take.
func NewClient(s *Server, sdk *dynamodb.Client) *Client { return &Client{Client: sdk, s: s} }

// GetItem implements dynamodb.Client's GetItem.
func (c *Client) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if in == nil || in.TableName == nil || in.Key == nil || in.AttributesToGet != nil || len(optFns) > 0 {
		return c.Client.GetItem(ctx, in, optFns...)
	}
	if err := ctx.Err(); err != nil {
		return nil, opError("GetItem", err)
	}
	key, err := toValues(in.Key)
	if err != nil {
		return nil, opError("GetItem", err)
	}
	out, err := c.s.getItem(&getItemInput{
		TableName: in.TableName, Key: key, ReturnConsumedCapacity: string(in.ReturnConsumedCapacity),
		readOptions: readOptions{ConsistentRead: aws.ToBool(in.ConsistentRead), ProjectionExpression: in.ProjectionExpression, ExpressionAttributeNames: in.ExpressionAttributeNames},
	})
	if err != nil {
		return nil, opError("GetItem", err)
	}
	o := out.(getItemOutput)
	res := &dynamodb.GetItemOutput{ConsumedCapacity: fromCapacity(o.ConsumedCapacity)}
	if o.Item != nil {
		res.Item = fromValues(*o.Item)
	}
	return res, nil
}

// PutItem implements dynamodb.Client's PutItem.
func (c *Client) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if in == nil || in.TableName == nil || in.Item == nil || in.Expected != nil || in.ConditionalOperator != "" || len(optFns) > 0 {
		return c.Client.PutItem(ctx, in, optFns...)
	}
	if err := ctx.Err(); err != nil {
		return nil, opError("PutItem", err)
	}
	item, err := toValues(in.Item)
	if err != nil {
		return nil, opError("PutItem", err)
	}
	var vals map[string]*value
	if in.ExpressionAttributeValues != nil {
		if vals, err = toValues(in.ExpressionAttributeValues); err != nil {
			return nil, opError("PutItem", err)
		}
	}
	out, err := c.s.putItem(&putItemInput{TableName: in.TableName, Item: item, writeOptions: writeOptions{
		ConditionExpression: in.ConditionExpression, ExpressionAttributeNames: in.ExpressionAttributeNames, ExpressionAttributeValues: vals,
		ReturnValues: string(in.ReturnValues), ReturnConsumedCapacity: string(in.ReturnConsumedCapacity),
		ReturnItemCollectionMetrics: string(in.ReturnItemCollectionMetrics), ReturnValuesOnConditionCheckFailure: string(in.ReturnValuesOnConditionCheckFailure),
	}})
	if err != nil {
		return nil, opError("PutItem", err)
	}
	o := out.(writeOutput)
	res := &dynamodb.PutItemOutput{ConsumedCapacity: fromCapacity(o.ConsumedCapacity)}
	if o.Attributes != nil {
		res.Attributes = fromValues(o.Attributes)
	}
	return res, nil
}

// opError wraps err as the SDK wraps an operation's error; a Server's *apiError
// becomes the typed error the SDK makes of that answer.
func opError(op string, err error) error {
	if ae, ok := err.(*apiError); ok {
		err = sdkError(ae)
	}
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: op, Err: err}
}

// sdkError is the error the SDK returns for ae's answer: its typed error for the types
// it knows, a smithy.GenericAPIError with the code for the others.
func sdkError(ae *apiError) error {
	code := ae.typ[strings.LastIndexByte(ae.typ, '#')+1:]
	msg := aws.String(ae.message)
	switch code {
	case "ConditionalCheckFailedException":
		e := &types.ConditionalCheckFailedException{Message: msg}
		if ae.item != nil {
			e.Item = fromValues(ae.item)
		}
		return e
	case "ResourceNotFoundException":
		return &types.ResourceNotFoundException{Message: msg}
	case "ResourceInUseException":
		return &types.ResourceInUseException{Message: msg}
	case "InternalServerError":
		return &types.InternalServerError{Message: msg}
	}
	fault := smithy.FaultClient
	if ae.status >= 500 {
		fault = smithy.FaultServer
	}
	return &smithy.GenericAPIError{Code: code, Message: ae.message, Fault: fault}
}

// toValues converts an SDK item to the Server's values, validated as its JSON decoder
// validates them.
func toValues(in map[string]types.AttributeValue) (map[string]*value, error) {
	out := make(map[string]*value, len(in))
	for k, av := range in {
		v, err := toValue(av)
		if err != nil {
			return nil, err
		}
		out[wireString(k)] = v
	}
	return out, nil
}

// wireString is s as it arrives through the SDK's JSON: each byte that is not part of
// valid UTF-8 replaced by U+FFFD, as its encoder replaces it.
func wireString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func toValue(av types.AttributeValue) (*value, error) {
	switch a := av.(type) {
	case *types.AttributeValueMemberS:
		return &value{t: typeS, s: wireString(a.Value)}, nil
	case *types.AttributeValueMemberN:
		d, err := parseDecimal(a.Value)
		if err != nil {
			return nil, err
		}
		return &value{t: typeN, s: d.String()}, nil
	case *types.AttributeValueMemberB:
		return &value{t: typeB, b: append([]byte{}, a.Value...)}, nil
	case *types.AttributeValueMemberBOOL:
		return &value{t: typeBOOL, ok: a.Value}, nil
	case *types.AttributeValueMemberNULL:
		if !a.Value {
			return nil, validationf("One or more parameter values were invalid: Null attribute value types must have the value of true")
		}
		return &value{t: typeNULL}, nil
	case *types.AttributeValueMemberM:
		m, err := toValues(a.Value)
		if err != nil {
			return nil, err
		}
		return &value{t: typeM, m: m}, nil
	case *types.AttributeValueMemberL:
		l := make([]*value, len(a.Value))
		for i, e := range a.Value {
			v, err := toValue(e)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return &value{t: typeL, l: l}, nil
	case *types.AttributeValueMemberSS:
		return stringSet(typeSS, a.Value)
	case *types.AttributeValueMemberNS:
		return stringSet(typeNS, a.Value)
	case *types.AttributeValueMemberBS:
		if len(a.Value) == 0 {
			return nil, validationf("One or more parameter values were invalid: Binary sets should not be empty")
		}
		v := &value{t: typeBS, bs: make([][]byte, len(a.Value))}
		seen := make([]string, len(a.Value))
		for i, b := range a.Value {
			v.bs[i] = append([]byte{}, b...)
			seen[i] = string(b)
		}
		if firstDuplicate(seen) {
			return nil, validationf("One or more parameter values were invalid: Input collection contains duplicates.")
		}
		return v, nil
	}
	return nil, errEmptyAttributeValue() // nil, or a type the SDK does not send
}

// stringSet builds an SS or NS value (numbers in canonical form), refusing an empty set
// or duplicates as the JSON decoder does.
func stringSet(t attrType, elems []string) (*value, error) {
	if len(elems) == 0 {
		kind := "string"
		if t == typeNS {
			kind = "number"
		}
		return nil, validationf("One or more parameter values were invalid: An %s set  may not be empty", kind)
	}
	v := &value{t: t, ss: make([]string, len(elems))}
	for i, s := range elems {
		if t == typeNS {
			d, err := parseDecimal(s)
			if err != nil {
				return nil, err
			}
			s = d.String()
		}
		v.ss[i] = wireString(s)
	}
	if firstDuplicate(v.ss) {
		return nil, validationf("One or more parameter values were invalid: Input collection [%s] contains duplicates.", strings.Join(v.ss, ", "))
	}
	return v, nil
}

// fromValues converts the Server's values to an SDK item. Bytes are copied: stored
// values are shared and must not change.
func fromValues(in map[string]*value) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(in))
	for k, v := range in {
		out[k] = fromValue(v)
	}
	return out
}

func fromValue(v *value) types.AttributeValue {
	switch v.t {
	case typeS:
		return &types.AttributeValueMemberS{Value: v.s}
	case typeN:
		return &types.AttributeValueMemberN{Value: v.s}
	case typeB:
		return &types.AttributeValueMemberB{Value: append([]byte{}, v.b...)}
	case typeBOOL:
		return &types.AttributeValueMemberBOOL{Value: v.ok}
	case typeNULL:
		return &types.AttributeValueMemberNULL{Value: true}
	case typeM:
		return &types.AttributeValueMemberM{Value: fromValues(v.m)}
	case typeL:
		l := make([]types.AttributeValue, len(v.l))
		for i, e := range v.l {
			l[i] = fromValue(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case typeSS:
		return &types.AttributeValueMemberSS{Value: append([]string{}, v.ss...)}
	case typeNS:
		return &types.AttributeValueMemberNS{Value: append([]string{}, v.ss...)}
	case typeBS:
		bs := make([][]byte, len(v.bs))
		for i, b := range v.bs {
			bs[i] = append([]byte{}, b...)
		}
		return &types.AttributeValueMemberBS{Value: bs}
	}
	return nil
}

// fromCapacity converts the consumed capacity the Server reports (nil when none was
// asked).
func fromCapacity(c *consumedCapacity) *types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	out := &types.ConsumedCapacity{TableName: aws.String(c.TableName), CapacityUnits: aws.Float64(c.CapacityUnits)}
	if c.Table != nil {
		out.Table = &types.Capacity{CapacityUnits: aws.Float64(c.Table.CapacityUnits)}
	}
	return out
}
