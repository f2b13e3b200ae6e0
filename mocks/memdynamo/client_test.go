package memdynamo

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// callOutcome is what a call answered, in a comparable form: the item or attributes,
// the consumed capacity, and the error's type, code and message.
type callOutcome struct {
	Item     map[string]any
	Units    float64
	Table    string
	ErrType  string
	ErrCode  string
	ErrMsg   string
	ErrItem  map[string]any
	Returned bool
}

func outcomeOf(item map[string]types.AttributeValue, cc *types.ConsumedCapacity, err error) callOutcome {
	var o callOutcome
	if item != nil {
		o.Item, o.Returned = normItem(item), true
	}
	if cc != nil {
		o.Units, o.Table = aws.ToFloat64(cc.CapacityUnits), aws.ToString(cc.TableName)
	}
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			o.ErrCode, o.ErrMsg = ae.ErrorCode(), ae.ErrorMessage()
			o.ErrType = fmt.Sprintf("%T", ae)
		} else {
			o.ErrType = fmt.Sprintf("not an API error: %v", err)
		}
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) && ccf.Item != nil {
			o.ErrItem = normItem(ccf.Item)
		}
	}
	return o
}

// itemAPI is the part of the SDK client's method set the calls use.
type itemAPI interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// itemCall is one call, made the same way on both clients.
type itemCall func(context.Context, itemAPI) callOutcome

func get(in *dynamodb.GetItemInput) itemCall {
	return func(ctx context.Context, c itemAPI) callOutcome {
		out, err := c.GetItem(ctx, in)
		if out == nil {
			out = &dynamodb.GetItemOutput{}
		}
		return outcomeOf(out.Item, out.ConsumedCapacity, err)
	}
}

func put(in *dynamodb.PutItemInput) itemCall {
	return func(ctx context.Context, c itemAPI) callOutcome {
		out, err := c.PutItem(ctx, in)
		if out == nil {
			out = &dynamodb.PutItemOutput{}
		}
		return outcomeOf(out.Attributes, out.ConsumedCapacity, err)
	}
}

// TestClientMatchesSDK makes the same sequence of GetItem and PutItem calls through the
// SDK over HTTP to one Server and through the in-process Client to another: every
// answer (items, projections, consumed capacity, typed errors with their codes and
// messages, the old item of a failed condition) must be the same, and so must what each
// table holds afterwards.
func TestClientMatchesSDK(t *testing.T) {
	ctx := context.Background()
	sdkA, _, _ := start(t)
	sdkB, srvB, _ := start(t)
	direct := NewClient(srvB, sdkB)
	for _, c := range []*dynamodb.Client{sdkA, sdkB} {
		createTable(t, c, "cache", "pk", "S")
	}
	tbl := aws.String("cache")
	env := func(b string) types.AttributeValue { return &types.AttributeValueMemberB{Value: []byte(b)} }
	item := func(pk, ver string, extra ...types.AttributeValue) map[string]types.AttributeValue {
		m := map[string]types.AttributeValue{"pk": s(pk), "v": n(ver), "env": env("envelope of " + pk), "expires_at": n("1900000000")}
		for i, e := range extra {
			m[fmt.Sprintf("x%d", i)] = e
		}
		return m
	}
	guard := aws.String("attribute_not_exists(pk) OR v <= :v")
	ops := []itemCall{
		get(&dynamodb.GetItemInput{TableName: tbl, Key: key("a"), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}),
		put(&dynamodb.PutItemInput{TableName: tbl, Item: item("a", "3"), ConditionExpression: guard,
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("3")}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}),
		get(&dynamodb.GetItemInput{TableName: tbl, Key: key("a"), ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("env"), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}),
		get(&dynamodb.GetItemInput{TableName: tbl, Key: key("a"), ProjectionExpression: aws.String("nothing"), ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes}),
		// An older version is refused, with and without the old item.
		put(&dynamodb.PutItemInput{TableName: tbl, Item: item("a", "2"), ConditionExpression: guard,
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("2")}}),
		put(&dynamodb.PutItemInput{TableName: tbl, Item: item("a", "2"), ConditionExpression: guard,
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("2")}, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}),
		put(&dynamodb.PutItemInput{TableName: tbl, Item: item("a", "4.50", &types.AttributeValueMemberSS{Value: []string{"x", "y"}},
			&types.AttributeValueMemberL{Value: []types.AttributeValue{n("1e2"), &types.AttributeValueMemberNULL{Value: true}, &types.AttributeValueMemberBOOL{Value: true}}},
			&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberNS{Value: []string{"1", "2.0"}}, "b": &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}}}}),
			ConditionExpression: guard, ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("4.5")}, ReturnValues: types.ReturnValueAllOld}),
		get(&dynamodb.GetItemInput{TableName: tbl, Key: key("a")}),
		get(&dynamodb.GetItemInput{TableName: tbl, Key: key("a"), ProjectionExpression: aws.String("x1[0], x2.k, #e"), ExpressionAttributeNames: map[string]string{"#e": "env"}}),
		// Errors: bad values, keys, expressions, tables and options.
		put(&dynamodb.PutItemInput{TableName: tbl, Item: item("b", "1", &types.AttributeValueMemberSS{Value: []string{"d", "d"}})}),
		put(&dynamodb.PutItemInput{TableName: tbl, Item: item("b", "1", &types.AttributeValueMemberSS{Value: []string{}})}),
		put(&dynamodb.PutItemInput{TableName: tbl, Item: item("b", "1", &types.AttributeValueMemberNULL{Value: false})}),
		put(&dynamodb.PutItemInput{TableName: tbl, Item: item("b", "not a number")}),
		put(&dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"v": n("1")}}),
		put(&dynamodb.PutItemInput{TableName: tbl, Item: item("b", "1"), ConditionExpression: aws.String("v <= :v")}),
		put(&dynamodb.PutItemInput{TableName: tbl, Item: item("b", "1"), ConditionExpression: aws.String("v <= "), ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("1")}}),
		put(&dynamodb.PutItemInput{TableName: aws.String("missing"), Item: item("b", "1")}),
		get(&dynamodb.GetItemInput{TableName: aws.String("missing"), Key: key("a")}),
		get(&dynamodb.GetItemInput{TableName: tbl, Key: map[string]types.AttributeValue{"pk": n("1")}}),
		get(&dynamodb.GetItemInput{TableName: tbl, Key: key("a"), ProjectionExpression: aws.String("size")}),
		get(&dynamodb.GetItemInput{TableName: tbl, Key: key("a"), ReturnConsumedCapacity: "SOME"}),
		// What the SDK itself refuses goes through the SDK on both sides.
		get(&dynamodb.GetItemInput{Key: key("a")}),
		put(&dynamodb.PutItemInput{TableName: tbl}),
		get(&dynamodb.GetItemInput{TableName: tbl, Key: key("zz"), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}),
	}
	for i, op := range ops {
		a, b := op(ctx, sdkA), op(ctx, direct)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("call %d: SDK over HTTP %+v\nin-process %+v", i, a, b)
		}
	}
	for _, k := range []string{"a", "b", "zz"} {
		a, b := getItem(t, sdkA, "cache", key(k)), getItem(t, sdkB, "cache", key(k))
		if !reflect.DeepEqual(normItem(a), normItem(b)) {
			t.Errorf("item %s: %v through the SDK, %v in process", k, normItem(a), normItem(b))
		}
	}
}

// FuzzClientValues: any item the fuzzer builds, put through both paths, gives the same
// answer (the same error code when refused) and the same stored item.
func FuzzClientValues(f *testing.F) {
	f.Add("x", "1", []byte("b"), true, "a,b")
	f.Add("", "1e400", []byte{}, false, "")
	f.Add("é", "-0.000", []byte{0, 1}, true, "1,1")
	f.Fuzz(func(t *testing.T, str, num string, bin []byte, flag bool, set string) {
		ctx := context.Background()
		sdkA, _, _ := start(t)
		sdkB, srvB, _ := start(t)
		direct := NewClient(srvB, sdkB)
		for _, c := range []*dynamodb.Client{sdkA, sdkB} {
			createTable(t, c, "cache", "pk", "S")
		}
		var ss []string
		if set != "" {
			ss = splitComma(set)
		}
		it := map[string]types.AttributeValue{"pk": s("k"), "s": s(str), "n": n(num), "b": &types.AttributeValueMemberB{Value: bin},
			"f": &types.AttributeValueMemberBOOL{Value: flag}, "ss": &types.AttributeValueMemberSS{Value: ss}, "ns": &types.AttributeValueMemberNS{Value: ss}}
		in := &dynamodb.PutItemInput{TableName: aws.String("cache"), Item: it, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}
		a, b := put(in)(ctx, sdkA), put(in)(ctx, direct)
		// An item with several invalid attributes is refused for whichever comes first,
		// and the SDK sends a map's attributes in Go's random order: the codes must agree.
		a.ErrMsg, b.ErrMsg = "", ""
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("SDK %+v, in-process %+v", a, b)
		}
		g := &dynamodb.GetItemInput{TableName: aws.String("cache"), Key: key("k")}
		if a, b := get(g)(ctx, sdkA), get(g)(ctx, direct); !reflect.DeepEqual(a, b) {
			t.Fatalf("SDK %+v, in-process %+v", a, b)
		}
	})
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
