package memdynamo

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

// recordingLogger keeps what the SDK logs. The SDK logs a warning when a
// response fails its X-Amz-Crc32 check, so tests assert it stays empty.
type recordingLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *recordingLogger) Logf(c logging.Classification, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(c)+": "+fmt.Sprintf(format, v...))
}

func (l *recordingLogger) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

func newClient(endpoint string, logger logging.Logger, hc *http.Client) *dynamodb.Client {
	opts := dynamodb.Options{
		BaseEndpoint:     aws.String(endpoint),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("x", "x", ""),
		Logger:           logger,
		RetryMaxAttempts: 1,
	}
	if hc != nil {
		opts.HTTPClient = hc
	}
	return dynamodb.New(opts)
}

// start starts a Server and returns an SDK client for it. At the end of the
// test it checks that the SDK logged nothing (no checksum failures).
func start(t *testing.T) (*dynamodb.Client, *Server, string) {
	t.Helper()
	s := New()
	endpoint, err := s.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	logger := &recordingLogger{}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if lines := logger.Lines(); len(lines) > 0 {
			t.Errorf("the SDK logged warnings (response checksum?): %q", lines)
		}
	})
	return newClient(endpoint, logger, nil), s, endpoint
}

func createTable(t *testing.T, c *dynamodb.Client, name string, keys ...string) *types.TableDescription {
	t.Helper()
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest}
	for i := 0; i+1 < len(keys); i += 2 {
		kt := types.KeyTypeHash
		if i > 0 {
			kt = types.KeyTypeRange
		}
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(keys[i]), KeyType: kt})
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(keys[i]), AttributeType: types.ScalarAttributeType(keys[i+1])})
	}
	out, err := c.CreateTable(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateTable %s: %v", name, err)
	}
	return out.TableDescription
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk)}
}

// apiCode returns the error code of an SDK API error, or "" if err is not one.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func wantValidation(t *testing.T, err error, substr string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		t.Fatalf("got error %v, want a ValidationException", err)
	}
	if !strings.Contains(ae.ErrorMessage(), substr) {
		t.Fatalf("ValidationException message %q does not contain %q", ae.ErrorMessage(), substr)
	}
}

func isConditionalCheckFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// norm turns an SDK attribute value into a comparable form in which sets are
// sorted, so that tests do not depend on set order.
func norm(av types.AttributeValue) any {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return "S:" + v.Value
	case *types.AttributeValueMemberN:
		return "N:" + v.Value
	case *types.AttributeValueMemberB:
		return "B:" + hex.EncodeToString(v.Value)
	case *types.AttributeValueMemberBOOL:
		return "BOOL:" + strconv.FormatBool(v.Value)
	case *types.AttributeValueMemberNULL:
		return "NULL:" + strconv.FormatBool(v.Value)
	case *types.AttributeValueMemberM:
		return normItem(v.Value)
	case *types.AttributeValueMemberL:
		out := []any{}
		for _, e := range v.Value {
			out = append(out, norm(e))
		}
		return out
	case *types.AttributeValueMemberSS:
		return "SS:" + strings.Join(slices.Sorted(slices.Values(v.Value)), "|")
	case *types.AttributeValueMemberNS:
		return "NS:" + strings.Join(slices.Sorted(slices.Values(v.Value)), "|")
	case *types.AttributeValueMemberBS:
		var hs []string
		for _, b := range v.Value {
			hs = append(hs, hex.EncodeToString(b))
		}
		slices.Sort(hs)
		return "BS:" + strings.Join(hs, "|")
	}
	return fmt.Sprintf("unknown %T", av)
}

func normItem(m map[string]types.AttributeValue) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = norm(v)
	}
	return out
}

func assertItem(t *testing.T, got, want map[string]types.AttributeValue) {
	t.Helper()
	if g, w := normItem(got), normItem(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("item mismatch\n got: %v\nwant: %v", g, w)
	}
}

func getItem(t *testing.T, c *dynamodb.Client, table string, k map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	return out.Item
}

func TestTableLifecycle(t *testing.T) {
	c, _, _ := start(t)
	ctx := context.Background()

	t.Run("CreateTable", func(t *testing.T) {
		d := createTable(t, c, "cache-l3", "pk", "S", "sk", "N")
		if d.TableStatus != types.TableStatusActive {
			t.Errorf("TableStatus = %q, want ACTIVE", d.TableStatus)
		}
		if got := aws.ToString(d.TableName); got != "cache-l3" {
			t.Errorf("TableName = %q", got)
		}
		if len(d.KeySchema) != 2 || aws.ToString(d.KeySchema[1].AttributeName) != "sk" || d.KeySchema[1].KeyType != types.KeyTypeRange {
			t.Errorf("KeySchema = %+v", d.KeySchema)
		}
		if !strings.HasSuffix(aws.ToString(d.TableArn), ":table/cache-l3") {
			t.Errorf("TableArn = %q", aws.ToString(d.TableArn))
		}
		if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
			t.Errorf("BillingModeSummary = %+v", d.BillingModeSummary)
		}
		if d.CreationDateTime == nil || time.Since(*d.CreationDateTime) > time.Minute {
			t.Errorf("CreationDateTime = %v", d.CreationDateTime)
		}
	})
	t.Run("DescribeTable", func(t *testing.T) {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("cache-l3"),
			Item: map[string]types.AttributeValue{"pk": s("a"), "sk": n("1"), "v": s("hello")}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("cache-l3")})
		if err != nil {
			t.Fatal(err)
		}
		if out.Table.TableStatus != types.TableStatusActive || aws.ToInt64(out.Table.ItemCount) != 1 {
			t.Errorf("Table = status %q, %d items; want ACTIVE, 1", out.Table.TableStatus, aws.ToInt64(out.Table.ItemCount))
		}
		// pk(2)+"a"(1) + sk(2)+N 1(3) + v(1)+"hello"(5)
		if got := aws.ToInt64(out.Table.TableSizeBytes); got != 14 {
			t.Errorf("TableSizeBytes = %d, want 14", got)
		}
	})
	t.Run("ListTables", func(t *testing.T) {
		createTable(t, c, "aaa", "pk", "S")
		createTable(t, c, "zzz", "pk", "B")
		out, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"aaa", "cache-l3", "zzz"}; !slices.Equal(out.TableNames, want) {
			t.Errorf("TableNames = %q, want %q", out.TableNames, want)
		}
		page, err := c.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(page.TableNames, []string{"aaa", "cache-l3"}) || aws.ToString(page.LastEvaluatedTableName) != "cache-l3" {
			t.Errorf("page 1 = %q, last %q", page.TableNames, aws.ToString(page.LastEvaluatedTableName))
		}
		page, err = c.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(2), ExclusiveStartTableName: page.LastEvaluatedTableName})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(page.TableNames, []string{"zzz"}) || page.LastEvaluatedTableName != nil {
			t.Errorf("page 2 = %q, last %v", page.TableNames, page.LastEvaluatedTableName)
		}
	})
	t.Run("DeleteTable", func(t *testing.T) {
		out, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("aaa")})
		if err != nil {
			t.Fatal(err)
		}
		if out.TableDescription.TableStatus != types.TableStatusDeleting {
			t.Errorf("TableStatus = %q, want DELETING", out.TableDescription.TableStatus)
		}
		var rnf *types.ResourceNotFoundException
		_, err = c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("aaa")})
		if !errors.As(err, &rnf) {
			t.Fatalf("DescribeTable after delete: %v, want ResourceNotFoundException", err)
		}
		_, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("aaa"), Key: key("x")})
		if !errors.As(err, &rnf) {
			t.Fatalf("GetItem on deleted table: %v, want ResourceNotFoundException", err)
		}
	})
}

func TestCreateTableErrors(t *testing.T) {
	c, _, _ := start(t)
	createTable(t, c, "exists", "pk", "S")
	str := func(v string) *string { return &v }
	keySchema := func(names ...string) []types.KeySchemaElement {
		var out []types.KeySchemaElement
		for i, nm := range names {
			kt := types.KeyTypeHash
			if i == 1 {
				kt = types.KeyTypeRange
			}
			out = append(out, types.KeySchemaElement{AttributeName: str(nm), KeyType: kt})
		}
		return out
	}
	defs := func(names ...string) []types.AttributeDefinition {
		var out []types.AttributeDefinition
		for _, nm := range names {
			out = append(out, types.AttributeDefinition{AttributeName: str(nm), AttributeType: types.ScalarAttributeTypeS})
		}
		return out
	}
	tests := []struct {
		name    string
		in      dynamodb.CreateTableInput
		check   func(error) bool
		wantMsg string
	}{
		{
			name:  "table exists",
			in:    dynamodb.CreateTableInput{TableName: str("exists"), KeySchema: keySchema("pk"), AttributeDefinitions: defs("pk"), BillingMode: types.BillingModePayPerRequest},
			check: func(err error) bool { var e *types.ResourceInUseException; return errors.As(err, &e) },
		},
		{
			name:    "name too short",
			in:      dynamodb.CreateTableInput{TableName: str("ab"), KeySchema: keySchema("pk"), AttributeDefinitions: defs("pk"), BillingMode: types.BillingModePayPerRequest},
			wantMsg: "Member must have length greater than or equal to 3",
		},
		{
			name:    "name with bad characters",
			in:      dynamodb.CreateTableInput{TableName: str("my table"), KeySchema: keySchema("pk"), AttributeDefinitions: defs("pk"), BillingMode: types.BillingModePayPerRequest},
			wantMsg: "regular expression pattern",
		},
		{
			name:    "key not defined",
			in:      dynamodb.CreateTableInput{TableName: str("t10"), KeySchema: keySchema("pk"), AttributeDefinitions: defs("other"), BillingMode: types.BillingModePayPerRequest},
			wantMsg: "Some index key attributes are not defined",
		},
		{
			name:    "extra definition",
			in:      dynamodb.CreateTableInput{TableName: str("t11"), KeySchema: keySchema("pk"), AttributeDefinitions: defs("pk", "x"), BillingMode: types.BillingModePayPerRequest},
			wantMsg: "does not exactly match",
		},
		{
			name: "first key is RANGE",
			in: dynamodb.CreateTableInput{TableName: str("t12"), AttributeDefinitions: defs("pk"), BillingMode: types.BillingModePayPerRequest,
				KeySchema: []types.KeySchemaElement{{AttributeName: str("pk"), KeyType: types.KeyTypeRange}}},
			wantMsg: "not a HASH key type",
		},
		{
			name:    "provisioned without throughput",
			in:      dynamodb.CreateTableInput{TableName: str("t13"), KeySchema: keySchema("pk"), AttributeDefinitions: defs("pk")},
			wantMsg: "ReadCapacityUnits and WriteCapacityUnits must both be specified",
		},
		{
			name: "secondary index",
			in: dynamodb.CreateTableInput{TableName: str("t14"), KeySchema: keySchema("pk"), AttributeDefinitions: defs("pk"), BillingMode: types.BillingModePayPerRequest,
				GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: str("gsi"), KeySchema: keySchema("pk"), Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}}},
			wantMsg: "does not support secondary indexes",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateTable(context.Background(), &tc.in)
			if tc.check != nil {
				if !tc.check(err) {
					t.Fatalf("error %v is not the expected type", err)
				}
				return
			}
			wantValidation(t, err, tc.wantMsg)
		})
	}
	t.Run("nothing was created", func(t *testing.T) {
		out, err := c.ListTables(context.Background(), &dynamodb.ListTablesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.TableNames, []string{"exists"}) {
			t.Fatalf("TableNames = %q, want only \"exists\"", out.TableNames)
		}
	})
}

func TestItemRoundTrip(t *testing.T) {
	c, _, _ := start(t)
	ctx := context.Background()
	createTable(t, c, "items", "pk", "S")
	blob := []byte{0, 1, 2, 0xfe, 0xff}

	t.Run("every type", func(t *testing.T) {
		item := map[string]types.AttributeValue{
			"pk":    s("all-types"),
			"str":   s("héllo \"wörld\"\n\t\x01"),
			"empty": s(""),
			"num":   n("-12.5"),
			"bin":   &types.AttributeValueMemberB{Value: blob},
			"yes":   &types.AttributeValueMemberBOOL{Value: true},
			"no":    &types.AttributeValueMemberBOOL{Value: false},
			"nil":   &types.AttributeValueMemberNULL{Value: true},
			"map": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"inner": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x"), n("2"), &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}},
			}},
			"list": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberNULL{Value: true}, &types.AttributeValueMemberB{Value: blob}}},
			"ss":   &types.AttributeValueMemberSS{Value: []string{"b", "a", "c"}},
			"ns":   &types.AttributeValueMemberNS{Value: []string{"3", "-1", "2.5"}},
			"bs":   &types.AttributeValueMemberBS{Value: [][]byte{blob, {9}}},
		}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("items"), Item: item}); err != nil {
			t.Fatal(err)
		}
		assertItem(t, getItem(t, c, "items", key("all-types")), item)
	})

	numbers := []struct{ in, want string }{
		{"007", "7"},
		{"1.50", "1.5"},
		{"1e3", "1000"},
		{"-0.0", "0"},
		{"+2.5E-2", "0.025"},
		{"12345678901234567890123456789012345678", "12345678901234567890123456789012345678"},
		{"1E+125", "1" + strings.Repeat("0", 125)},
		{"1E-130", "0." + strings.Repeat("0", 129) + "1"},
	}
	for _, tc := range numbers {
		t.Run("number "+tc.in, func(t *testing.T) {
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("items"),
				Item: map[string]types.AttributeValue{"pk": s("num"), "v": n(tc.in), "set": &types.AttributeValueMemberNS{Value: []string{tc.in}}}}); err != nil {
				t.Fatal(err)
			}
			got := getItem(t, c, "items", key("num"))
			if v := got["v"].(*types.AttributeValueMemberN).Value; v != tc.want {
				t.Errorf("N %q came back as %q, want %q", tc.in, v, tc.want)
			}
			if v := got["set"].(*types.AttributeValueMemberNS).Value; !slices.Equal(v, []string{tc.want}) {
				t.Errorf("NS [%q] came back as %q", tc.in, v)
			}
		})
	}

	invalid := []struct {
		name string
		item map[string]types.AttributeValue
		msg  string
	}{
		{"not a number", map[string]types.AttributeValue{"pk": s("x"), "v": n("12abc")}, "cannot be converted to a numeric value"},
		{"number overflow", map[string]types.AttributeValue{"pk": s("x"), "v": n("1e126")}, "Number overflow"},
		{"number underflow", map[string]types.AttributeValue{"pk": s("x"), "v": n("1e-131")}, "Number underflow"},
		{"39 digits", map[string]types.AttributeValue{"pk": s("x"), "v": n("123456789012345678901234567890123456789")}, "more than 38 significant digits"},
		{"empty set", map[string]types.AttributeValue{"pk": s("x"), "v": &types.AttributeValueMemberSS{Value: []string{}}}, "may not be empty"},
		{"duplicate in set", map[string]types.AttributeValue{"pk": s("x"), "v": &types.AttributeValueMemberNS{Value: []string{"1", "1.0"}}}, "contains duplicates"},
		{"NULL false", map[string]types.AttributeValue{"pk": s("x"), "v": &types.AttributeValueMemberNULL{Value: false}}, "Null attribute value types must have the value of true"},
		{"missing key", map[string]types.AttributeValue{"other": s("x")}, "Missing the key pk in the item"},
		{"key of the wrong type", map[string]types.AttributeValue{"pk": n("1")}, "Type mismatch for key pk expected: S actual: N"},
		{"empty key", map[string]types.AttributeValue{"pk": s("")}, "cannot contain an empty string value"},
		{"hash key too long", map[string]types.AttributeValue{"pk": s(strings.Repeat("k", 2049))}, "Size of hashkey has exceeded"},
	}
	for _, tc := range invalid {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("items"), Item: tc.item})
			wantValidation(t, err, tc.msg)
		})
	}
}

func TestGetItem(t *testing.T) {
	c, _, _ := start(t)
	ctx := context.Background()
	createTable(t, c, "get", "pk", "S", "sk", "N")
	item := map[string]types.AttributeValue{"pk": s("a"), "sk": n("1"), "v": s("x")}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("get"), Item: item}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		key     map[string]types.AttributeValue
		want    map[string]types.AttributeValue
		wantMsg string
	}{
		{"present", map[string]types.AttributeValue{"pk": s("a"), "sk": n("1")}, item, ""},
		{"number key in another form", map[string]types.AttributeValue{"pk": s("a"), "sk": n("1.000")}, item, ""},
		{"missing item", map[string]types.AttributeValue{"pk": s("a"), "sk": n("2")}, nil, ""},
		{"missing sort key", map[string]types.AttributeValue{"pk": s("a")}, nil, "The provided key element does not match the schema"},
		{"extra attribute", map[string]types.AttributeValue{"pk": s("a"), "sk": n("1"), "v": s("x")}, nil, "The provided key element does not match the schema"},
		{"wrong type", map[string]types.AttributeValue{"pk": s("a"), "sk": s("1")}, nil, "The provided key element does not match the schema"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("get"), Key: tc.key})
			if tc.wantMsg != "" {
				wantValidation(t, err, tc.wantMsg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(out.Item) != 0 {
					t.Fatalf("Item = %v, want none", out.Item)
				}
				return
			}
			assertItem(t, out.Item, tc.want)
		})
	}
}

func TestConditionalPut(t *testing.T) {
	c, _, _ := start(t)
	ctx := context.Background()
	createTable(t, c, "cond", "pk", "S")
	put := func(version string, returnOld bool) error {
		in := &dynamodb.PutItemInput{
			TableName:                 aws.String("cond"),
			Item:                      map[string]types.AttributeValue{"pk": s("k"), "version": n(version)},
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR version < :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": n(version)},
		}
		if returnOld {
			in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		}
		_, err := c.PutItem(ctx, in)
		return err
	}
	steps := []struct {
		name        string
		version     string
		wantOK      bool
		wantVersion string
	}{
		{"first write, item absent", "1", true, "1"},
		{"newer version", "3", true, "3"},
		{"older version rejected", "2", false, "3"},
		{"same version rejected", "3", false, "3"},
		{"numeric not lexical: 10 > 3", "10", true, "10"},
		{"numeric not lexical: 9 < 10", "9", false, "10"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := put(st.version, false)
			switch {
			case st.wantOK && err != nil:
				t.Fatalf("put version %s: %v", st.version, err)
			case !st.wantOK && !isConditionalCheckFailed(err):
				t.Fatalf("put version %s: got %v, want ConditionalCheckFailedException", st.version, err)
			}
			if got := getItem(t, c, "cond", key("k"))["version"].(*types.AttributeValueMemberN).Value; got != st.wantVersion {
				t.Fatalf("stored version = %s, want %s", got, st.wantVersion)
			}
		})
	}
	t.Run("failure returns the old item when asked", func(t *testing.T) {
		err := put("4", true)
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			t.Fatalf("got %v, want ConditionalCheckFailedException", err)
		}
		if ccf.ErrorMessage() != "The conditional request failed" {
			t.Errorf("message = %q", ccf.ErrorMessage())
		}
		assertItem(t, ccf.Item, map[string]types.AttributeValue{"pk": s("k"), "version": n("10")})
	})
}

func TestDeleteItem(t *testing.T) {
	c, _, _ := start(t)
	ctx := context.Background()
	createTable(t, c, "del", "pk", "S")
	item := map[string]types.AttributeValue{"pk": s("k"), "v": s("x")}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("del"), Item: item}); err != nil {
		t.Fatal(err)
	}
	t.Run("condition fails", func(t *testing.T) {
		_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("del"), Key: key("k"),
			ConditionExpression: aws.String("v = :other"), ExpressionAttributeValues: map[string]types.AttributeValue{":other": s("y")}})
		if !isConditionalCheckFailed(err) {
			t.Fatalf("got %v, want ConditionalCheckFailedException", err)
		}
		if got := getItem(t, c, "del", key("k")); len(got) == 0 {
			t.Fatal("item was deleted despite the failed condition")
		}
	})
	t.Run("condition holds, old item returned", func(t *testing.T) {
		out, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("del"), Key: key("k"),
			ConditionExpression: aws.String("attribute_exists(pk) AND v = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("x")},
			ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			t.Fatal(err)
		}
		assertItem(t, out.Attributes, item)
		if got := getItem(t, c, "del", key("k")); len(got) != 0 {
			t.Fatalf("item still there: %v", got)
		}
	})
	t.Run("missing item is not an error", func(t *testing.T) {
		out, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("del"), Key: key("k"), ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Attributes) != 0 {
			t.Fatalf("Attributes = %v, want none", out.Attributes)
		}
	})
	t.Run("attribute_exists fails on a missing item", func(t *testing.T) {
		_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("del"), Key: key("k"), ConditionExpression: aws.String("attribute_exists(pk)")})
		if !isConditionalCheckFailed(err) {
			t.Fatalf("got %v, want ConditionalCheckFailedException", err)
		}
	})
}

func TestBatchGetItem(t *testing.T) {
	c, _, _ := start(t)
	ctx := context.Background()
	createTable(t, c, "left", "pk", "S")
	createTable(t, c, "right", "pk", "S")
	for _, k := range []string{"a", "b", "c"} {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("left"), Item: map[string]types.AttributeValue{"pk": s(k), "v": s("left-" + k), "w": n("1")}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("right"), Item: map[string]types.AttributeValue{"pk": s("r"), "v": s("right"), "w": n("2")}}); err != nil {
		t.Fatal(err)
	}

	t.Run("two tables", func(t *testing.T) {
		out, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{
				"left":  {Keys: []map[string]types.AttributeValue{key("a"), key("b"), key("c"), key("missing")}, ConsistentRead: aws.Bool(true)},
				"right": {Keys: []map[string]types.AttributeValue{key("r")}, ProjectionExpression: aws.String("#v"), ExpressionAttributeNames: map[string]string{"#v": "v"}},
			},
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range out.Responses["left"] {
			got = append(got, it["v"].(*types.AttributeValueMemberS).Value)
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"left-a", "left-b", "left-c"}) {
			t.Errorf("left = %q", got)
		}
		if r := out.Responses["right"]; len(r) != 1 {
			t.Errorf("right = %v", r)
		} else {
			assertItem(t, r[0], map[string]types.AttributeValue{"v": s("right")})
		}
		if len(out.UnprocessedKeys) != 0 {
			t.Errorf("UnprocessedKeys = %v", out.UnprocessedKeys)
		}
		units := map[string]float64{}
		for _, cc := range out.ConsumedCapacity {
			units[aws.ToString(cc.TableName)] = aws.ToFloat64(cc.CapacityUnits)
		}
		if want := map[string]float64{"left": 4, "right": 0.5}; !reflect.DeepEqual(units, want) {
			t.Errorf("ConsumedCapacity = %v, want %v", units, want)
		}
	})
	t.Run("duplicate keys", func(t *testing.T) {
		_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			"left": {Keys: []map[string]types.AttributeValue{key("a"), key("a")}}}})
		wantValidation(t, err, "Provided list of item keys contains duplicates")
	})
	t.Run("too many keys", func(t *testing.T) {
		var keys []map[string]types.AttributeValue
		for i := range 101 {
			keys = append(keys, key(strconv.Itoa(i)))
		}
		_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"left": {Keys: keys}}})
		wantValidation(t, err, "Too many items requested")
	})
	t.Run("missing table", func(t *testing.T) {
		_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			"nope": {Keys: []map[string]types.AttributeValue{key("a")}}}})
		var rnf *types.ResourceNotFoundException
		if !errors.As(err, &rnf) {
			t.Fatalf("got %v, want ResourceNotFoundException", err)
		}
	})
}

func TestItemSizeLimit(t *testing.T) {
	c, _, _ := start(t)
	createTable(t, c, "big", "pk", "S")
	// Item size = len("pk") + len("k") + len("d") + len(data) = 4 + len(data).
	tests := []struct {
		name    string
		dataLen int
		wantErr bool
	}{
		{"exactly 400 KB", 400*1024 - 4, false},
		{"one byte over", 400*1024 - 3, true},
		{"far over", 500 * 1024, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("big"),
				Item: map[string]types.AttributeValue{"pk": s("k"), "d": s(strings.Repeat("x", tc.dataLen))}})
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("PutItem: %v", err)
				}
				return
			}
			wantValidation(t, err, "Item size has exceeded the maximum allowed size")
		})
	}
	t.Run("rejected item was not stored", func(t *testing.T) {
		got := getItem(t, c, "big", key("k"))
		if l := len(got["d"].(*types.AttributeValueMemberS).Value); l != 400*1024-4 {
			t.Fatalf("stored data length %d, want the accepted item's", l)
		}
	})
}

func TestConsumedCapacity(t *testing.T) {
	c, _, _ := start(t)
	ctx := context.Background()
	createTable(t, c, "cap", "pk", "S")
	// Item size = 4 + len(data); see TestItemSizeLimit.
	tests := []struct {
		name                         string
		size                         int
		write, readEventual, readStr float64
	}{
		{"1 KB", 1024, 1, 0.5, 1},
		{"1 KB + 1 byte", 1025, 2, 0.5, 1},
		{"4 KB", 4096, 4, 0.5, 1},
		{"5 KB", 5 * 1024, 5, 1, 2},
		{"5 KB + 1 byte", 5*1024 + 1, 6, 1, 2},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := "k" + strconv.Itoa(i)
			item := map[string]types.AttributeValue{"pk": s(k), "d": s(strings.Repeat("x", tc.size-3-len(k)))}
			put, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("cap"), Item: item, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
			if err != nil {
				t.Fatal(err)
			}
			if cc := put.ConsumedCapacity; cc == nil || aws.ToString(cc.TableName) != "cap" || aws.ToFloat64(cc.CapacityUnits) != tc.write {
				t.Errorf("PutItem ConsumedCapacity = %+v, want %v units on cap", cc, tc.write)
			}
			for _, consistent := range []bool{false, true} {
				get, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("cap"), Key: key(k),
					ConsistentRead: aws.Bool(consistent), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
				if err != nil {
					t.Fatal(err)
				}
				want := tc.readEventual
				if consistent {
					want = tc.readStr
				}
				if got := aws.ToFloat64(get.ConsumedCapacity.CapacityUnits); got != want {
					t.Errorf("GetItem (consistent=%v) = %v units, want %v", consistent, got, want)
				}
			}
			del, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("cap"), Key: key(k), ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes})
			if err != nil {
				t.Fatal(err)
			}
			if cc := del.ConsumedCapacity; cc == nil || aws.ToFloat64(cc.CapacityUnits) != tc.write || cc.Table == nil || aws.ToFloat64(cc.Table.CapacityUnits) != tc.write {
				t.Errorf("DeleteItem ConsumedCapacity = %+v, want %v units (with INDEXES detail)", cc, tc.write)
			}
		})
	}
	t.Run("missing item and NONE", func(t *testing.T) {
		get, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("cap"), Key: key("none"), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToFloat64(get.ConsumedCapacity.CapacityUnits); got != 0.5 {
			t.Errorf("GetItem of a missing item = %v units, want 0.5", got)
		}
		put, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("cap"), Item: key("none")})
		if err != nil {
			t.Fatal(err)
		}
		if put.ConsumedCapacity != nil {
			t.Errorf("ConsumedCapacity = %+v without ReturnConsumedCapacity", put.ConsumedCapacity)
		}
	})
	t.Run("overwrite charges the larger item", func(t *testing.T) {
		big := map[string]types.AttributeValue{"pk": s("ow"), "d": s(strings.Repeat("x", 3000))}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("cap"), Item: big}); err != nil {
			t.Fatal(err)
		}
		put, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("cap"), Item: key("ow"), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToFloat64(put.ConsumedCapacity.CapacityUnits); got != 3 {
			t.Errorf("overwrite = %v units, want 3", got)
		}
	})
}

func TestMalformedExpressions(t *testing.T) {
	c, _, _ := start(t)
	createTable(t, c, "expr", "pk", "S")
	m := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"a": s("b")}}
	tests := []struct {
		name   string
		expr   string
		names  map[string]string
		values map[string]types.AttributeValue
		msg    string
	}{
		{"unclosed parenthesis", "attribute_not_exists(pk", nil, nil, `Syntax error; token: "<EOF>"`},
		{"missing operand", "version <", nil, nil, `Syntax error; token: "<EOF>"`},
		{"dangling AND", "version < :v AND", nil, map[string]types.AttributeValue{":v": n("1")}, "Syntax error"},
		{"double operator", "version = = :v", nil, map[string]types.AttributeValue{":v": n("1")}, `Syntax error; token: "="`},
		{"bad character", "version $ :v", nil, map[string]types.AttributeValue{":v": n("1")}, `Syntax error; token: "$"`},
		{"empty", "", nil, nil, "The expression can not be empty"},
		{"undefined value", "version = :nope", nil, nil, "An expression attribute value used in expression is not defined; attribute value: :nope"},
		{"undefined name", "#n = :v", nil, map[string]types.AttributeValue{":v": n("1")}, "An expression attribute name used in the document path is not defined; attribute name: #n"},
		{"reserved word", "data = :v", nil, map[string]types.AttributeValue{":v": n("1")}, "Attribute name is a reserved keyword; reserved keyword: data"},
		{"unused value", "version < :v", nil, map[string]types.AttributeValue{":v": n("1"), ":x": n("2")}, "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"},
		{"unused name", "version < :v", map[string]string{"#x": "x"}, map[string]types.AttributeValue{":v": n("1")}, "Value provided in ExpressionAttributeNames unused in expressions: keys: {#x}"},
		{"function on a value", "attribute_exists(:v)", nil, map[string]types.AttributeValue{":v": n("1")}, "Operator or function requires a document path"},
		{"unknown function", "bogus(pk)", nil, nil, "Invalid function name; function: bogus"},
		{"function names are case-sensitive", "ATTRIBUTE_EXISTS(pk)", nil, nil, "Invalid function name"},
		{"size as a condition", "size(pk)", nil, nil, "The function is not allowed to be used this way"},
		{"map ordered", "pk < :m", nil, map[string]types.AttributeValue{":m": m}, "Incorrect operand type for operator or function; operator or function: <, operand type: M"},
		{"begins_with a number", "begins_with(pk, :v)", nil, map[string]types.AttributeValue{":v": n("1")}, "operator or function: begins_with, operand type: N"},
		{"BETWEEN bounds reversed", "version BETWEEN :hi AND :lo", nil, map[string]types.AttributeValue{":hi": n("10"), ":lo": n("2")}, "requires upper bound to be greater than or equal to lower bound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{
				TableName: aws.String("expr"), Item: key("k"), ConditionExpression: aws.String(tc.expr),
				ExpressionAttributeNames: tc.names, ExpressionAttributeValues: tc.values,
			})
			wantValidation(t, err, tc.msg)
		})
	}
	t.Run("nothing was written", func(t *testing.T) {
		if got := getItem(t, c, "expr", key("k")); len(got) != 0 {
			t.Fatalf("item written despite invalid expressions: %v", got)
		}
	})
}

// TestUnimplementedWrites checks that UpdateItem and BatchWriteItem, which
// nothing running against memdynamo calls, are refused as DynamoDB refuses an
// operation it does not know, with a message naming the operation, and change
// nothing.
func TestUnimplementedWrites(t *testing.T) {
	c, _, endpoint := start(t)
	ctx := context.Background()
	createTable(t, c, "upd", "pk", "S")
	item := map[string]types.AttributeValue{"pk": s("u"), "n": n("1")}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("upd"), Item: item}); err != nil {
		t.Fatal(err)
	}
	want := func(op string) string {
		return "memdynamo (in-memory L3 stand-in, not DynamoDB) does not implement " + op
	}
	wantUnknown := func(t *testing.T, op string, err error) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "UnknownOperationException" || ae.ErrorMessage() != want(op) {
			t.Fatalf("%s error %v, want UnknownOperationException %q", op, err, want(op))
		}
	}
	t.Run("SDK UpdateItem", func(t *testing.T) {
		_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("upd"), Key: key("u"),
			UpdateExpression: aws.String("SET n = n + :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": n("1")}})
		wantUnknown(t, "UpdateItem", err)
	})
	t.Run("SDK BatchWriteItem", func(t *testing.T) {
		_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
			"upd": {{DeleteRequest: &types.DeleteRequest{Key: key("u")}}}}})
		wantUnknown(t, "BatchWriteItem", err)
	})
	for _, tc := range []struct{ op, body string }{
		{"UpdateItem", `{"TableName":"upd","Key":{"pk":{"S":"u"}},"UpdateExpression":"REMOVE n"}`},
		{"BatchWriteItem", `{"RequestItems":{"upd":[{"DeleteRequest":{"Key":{"pk":{"S":"u"}}}}]}}`},
	} {
		t.Run("wire "+tc.op, func(t *testing.T) {
			resp, body := rawCall(t, endpoint, "DynamoDB_20120810."+tc.op, tc.body)
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body is not JSON: %s", body)
			}
			if resp.StatusCode != http.StatusBadRequest || e.Type != "com.amazon.coral.service#UnknownOperationException" || e.Message != want(tc.op) {
				t.Fatalf("got %d %s, want 400 UnknownOperationException %q", resp.StatusCode, body, want(tc.op))
			}
		})
	}
	t.Run("item unchanged", func(t *testing.T) {
		assertItem(t, getItem(t, c, "upd", key("u")), item)
	})
}

func TestProjection(t *testing.T) {
	c, _, _ := start(t)
	ctx := context.Background()
	createTable(t, c, "proj", "pk", "S")
	item := map[string]types.AttributeValue{
		"pk":   s("p"),
		"name": s("n"),
		"m":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"child": n("1"), "other": n("2")}},
		"l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{s("zero"), s("one"), s("two")}},
		"skip": s("s"),
	}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("proj"), Item: item}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		expr  string
		names map[string]string
		want  map[string]types.AttributeValue
		msg   string
	}{
		{name: "top-level and nested", expr: "#n, m.child, l[2], l[0], absent", names: map[string]string{"#n": "name"}, want: map[string]types.AttributeValue{
			"name": s("n"),
			"m":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"child": n("1")}},
			"l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{s("zero"), s("two")}},
		}},
		{name: "nothing matches", expr: "absent, m.absent, l[9]", want: map[string]types.AttributeValue{}},
		{name: "top-level only", expr: "pk, skip, absent", want: map[string]types.AttributeValue{"pk": s("p"), "skip": s("s")}},
		{name: "overlapping paths", expr: "m, m.child", msg: "Two document paths overlap"},
		{name: "reserved word", expr: "name", msg: "reserved keyword: name"},
		{name: "reserved word nested", expr: "m.inner", msg: "reserved keyword: inner"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Twice: the second read of an expression without names takes its parsed
			// paths from the server's cache, and an invalid one must fail again.
			for range 2 {
				out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("proj"), Key: key("p"), ProjectionExpression: aws.String(tc.expr), ExpressionAttributeNames: tc.names})
				if tc.msg != "" {
					wantValidation(t, err, tc.msg)
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if out.Item == nil {
					t.Fatal("Item is nil: an existing item looks missing")
				}
				assertItem(t, out.Item, tc.want)
			}
		})
	}
}

func TestTimeToLive(t *testing.T) {
	srv := New()
	var clock atomic.Int64
	clock.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	srv.SetClock(func() time.Time { return time.Unix(clock.Load(), 0) })
	endpoint, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := newClient(endpoint, nil, nil)
	ctx := context.Background()
	createTable(t, c, "ttl-table", "pk", "S")
	now := clock.Load()
	put := func(k string, exp types.AttributeValue) {
		t.Helper()
		item := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: k}}
		if exp != nil {
			item["expiresAt"] = exp
		}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("ttl-table"), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	present := func(k string) bool { return len(getItem(t, c, "ttl-table", key(k))) > 0 }
	ttlNum := func(v int64) types.AttributeValue { return n(strconv.FormatInt(v, 10)) }

	t.Run("enable", func(t *testing.T) {
		out, err := c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("ttl-table"),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("expiresAt"), Enabled: aws.Bool(true)}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.TimeToLiveSpecification.AttributeName) != "expiresAt" || !aws.ToBool(out.TimeToLiveSpecification.Enabled) {
			t.Errorf("TimeToLiveSpecification = %+v", out.TimeToLiveSpecification)
		}
		d, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("ttl-table")})
		if err != nil {
			t.Fatal(err)
		}
		if d.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.TimeToLiveDescription.AttributeName) != "expiresAt" {
			t.Errorf("TimeToLiveDescription = %+v", d.TimeToLiveDescription)
		}
		_, err = c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("ttl-table"),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("other"), Enabled: aws.Bool(true)}})
		wantValidation(t, err, "TimeToLive is already enabled")
	})
	t.Run("expired items stay readable until a write", func(t *testing.T) {
		put("future", ttlNum(now+3600))
		put("ancient", ttlNum(now-6*366*24*3600)) // more than five years ago: ignored
		put("string-ttl", s("0"))                 // not a Number: ignored
		put("no-ttl", nil)
		put("fractional", n(strconv.FormatInt(now-1, 10)+".5"))
		put("expired", ttlNum(now-10)) // the last write: nothing has swept it yet
		if !present("expired") {
			t.Fatal("an expired item vanished before any later write")
		}
		put("trigger", nil)
		for k, want := range map[string]bool{"expired": false, "fractional": false, "future": true, "ancient": true, "string-ttl": true, "no-ttl": true} {
			if got := present(k); got != want {
				t.Errorf("%s present = %v, want %v", k, got, want)
			}
		}
	})
	t.Run("rewritten item keeps its new TTL", func(t *testing.T) {
		put("rewritten", ttlNum(now+10))
		put("rewritten", ttlNum(now+7200))
		clock.Add(3601) // "future" expires at now+3600: one second in the past
		put("trigger", nil)
		if !present("rewritten") {
			t.Error("item deleted by its stale expiry")
		}
		if present("future") {
			t.Error("item past its TTL survived a write")
		}
	})
	t.Run("disable", func(t *testing.T) {
		if _, err := c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("ttl-table"),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("expiresAt"), Enabled: aws.Bool(false)}}); err != nil {
			t.Fatal(err)
		}
		d, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("ttl-table")})
		if err != nil {
			t.Fatal(err)
		}
		if d.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusDisabled {
			t.Errorf("status = %q, want DISABLED", d.TimeToLiveDescription.TimeToLiveStatus)
		}
		clock.Add(3 * 3600)
		put("trigger", nil)
		if !present("rewritten") {
			t.Error("TTL deletion happened with TTL disabled")
		}
	})
}

func TestConcurrentAccess(t *testing.T) {
	c, _, _ := start(t)
	ctx := context.Background()
	createTable(t, c, "conc", "pk", "S")
	const workers, iterations, increments = 20, 25, 5
	var wg sync.WaitGroup
	var successes atomic.Int64
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				for i := range iterations {
					k := fmt.Sprintf("w%d-%d", w, i%5)
					v := strconv.Itoa(i)
					if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("conc"), Item: map[string]types.AttributeValue{"pk": s(k), "v": n(v)}}); err != nil {
						return err
					}
					out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("conc"), Key: key(k)})
					if err != nil {
						return err
					}
					if got := out.Item["v"].(*types.AttributeValueMemberN).Value; got != v {
						return fmt.Errorf("worker %d read %s = %s, wrote %s", w, k, got, v)
					}
				}
				// Optimistic-locking increments of one shared counter.
				for done := 0; done < increments; {
					out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("conc"), Key: key("counter"), ConsistentRead: aws.Bool(true)})
					if err != nil {
						return err
					}
					cur := int64(0)
					if v, ok := out.Item["version"].(*types.AttributeValueMemberN); ok {
						cur, _ = strconv.ParseInt(v.Value, 10, 64)
					}
					_, err = c.PutItem(ctx, &dynamodb.PutItemInput{
						TableName:                 aws.String("conc"),
						Item:                      map[string]types.AttributeValue{"pk": s("counter"), "version": n(strconv.FormatInt(cur+1, 10))},
						ConditionExpression:       aws.String("attribute_not_exists(version) OR version = :cur"),
						ExpressionAttributeValues: map[string]types.AttributeValue{":cur": n(strconv.FormatInt(cur, 10))},
					})
					switch {
					case err == nil:
						done++
						successes.Add(1)
					case !isConditionalCheckFailed(err):
						return err
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := getItem(t, c, "conc", key("counter"))["version"].(*types.AttributeValueMemberN).Value
	if want := strconv.Itoa(workers * increments); got != want || successes.Load() != workers*increments {
		t.Fatalf("counter = %s after %d successful increments, want %s", got, successes.Load(), want)
	}
	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("conc")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToInt64(d.Table.ItemCount); got != workers*5+1 {
		t.Fatalf("ItemCount = %d, want %d", got, workers*5+1)
	}
}

// rawCall posts a request to the server without the SDK.
func rawCall(t *testing.T, endpoint, target, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestWireProtocol(t *testing.T) {
	c, _, endpoint := start(t)
	createTable(t, c, "wire", "pk", "S")
	tests := []struct {
		name       string
		target     string
		body       string
		wantStatus int
		wantType   string // suffix of __type; empty for success
	}{
		{"ListTables", "DynamoDB_20120810.ListTables", `{}`, 200, ""},
		{"GetItem with raw JSON", "DynamoDB_20120810.GetItem", `{"TableName":"wire","Key":{"pk":{"S":"x"}}}`, 200, ""},
		{"unknown operation", "DynamoDB_20120810.Frobnicate", `{}`, 400, "#UnknownOperationException"},
		{"unimplemented operation", "DynamoDB_20120810.Scan", `{"TableName":"wire"}`, 400, "#UnknownOperationException"},
		{"wrong service", "DynamoDBStreams_20120810.ListStreams", `{}`, 400, "#UnknownOperationException"},
		{"no target", "", `{}`, 400, "#UnknownOperationException"},
		{"missing table", "DynamoDB_20120810.DescribeTable", `{"TableName":"nope"}`, 400, "#ResourceNotFoundException"},
		{"malformed JSON", "DynamoDB_20120810.GetItem", `{"TableName":`, 400, "#SerializationException"},
		{"empty attribute value", "DynamoDB_20120810.GetItem", `{"TableName":"wire","Key":{"pk":{}}}`, 400, "#ValidationException"},
		{"two types in one value", "DynamoDB_20120810.GetItem", `{"TableName":"wire","Key":{"pk":{"S":"a","N":"1"}}}`, 400, "#ValidationException"},
		{"too deeply nested", "DynamoDB_20120810.PutItem", `{"TableName":"wire","Item":{"pk":{"S":"a"},"d":` + strings.Repeat(`{"L":[`, 40) + `{"S":"x"}` + strings.Repeat(`]}`, 40) + `}}`, 400, "#ValidationException"},
		{"legacy Expected", "DynamoDB_20120810.PutItem", `{"TableName":"wire","Item":{"pk":{"S":"a"}},"Expected":{"pk":{"Exists":false}}}`, 400, "#ValidationException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawCall(t, endpoint, tc.target, tc.body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.wantStatus, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
				t.Errorf("Content-Type = %q", ct)
			}
			crc, err := strconv.ParseUint(resp.Header.Get("X-Amz-Crc32"), 10, 32)
			if err != nil || uint32(crc) != crc32.ChecksumIEEE(body) {
				t.Errorf("X-Amz-Crc32 = %q, want %d", resp.Header.Get("X-Amz-Crc32"), crc32.ChecksumIEEE(body))
			}
			if resp.Header.Get("X-Amzn-Requestid") == "" {
				t.Error("no x-amzn-RequestId header")
			}
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body is not JSON: %s", body)
			}
			if !strings.HasSuffix(e.Type, tc.wantType) || (tc.wantType == "") != (e.Type == "") {
				t.Fatalf("__type = %q, want suffix %q", e.Type, tc.wantType)
			}
			if tc.wantType != "" && e.Message == "" {
				t.Error("error without a message")
			}
		})
	}
	t.Run("SDK maps UnknownOperationException", func(t *testing.T) {
		_, err := c.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String("wire")})
		if code := apiCode(err); code != "UnknownOperationException" {
			t.Fatalf("Scan error code %q (%v), want UnknownOperationException", code, err)
		}
	})
	t.Run("health check", func(t *testing.T) {
		resp, err := http.Get(endpoint + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "not DynamoDB") {
			t.Fatalf("GET / = %d %q", resp.StatusCode, b)
		}
	})
}

// TestSDKChecksum checks the SDK's own CRC32 validation against the server: a
// correct X-Amz-Crc32 leaves the SDK silent, while a corrupted header (the
// control, proving the check is live) fails the request (aws-sdk-go-v2's dynamodb
// v1.74 and later; earlier versions logged a warning, which counts too).
func TestSDKChecksum(t *testing.T) {
	srv := New()
	var corrupt atomic.Bool
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		if corrupt.Load() {
			w.Header().Set("X-Amz-Crc32", "12345")
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	defer ts.Close()
	tests := []struct {
		name    string
		corrupt bool
	}{
		{"correct checksum", false},
		{"corrupted checksum (control)", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			corrupt.Store(tc.corrupt)
			logger := &recordingLogger{}
			c := newClient(ts.URL, logger, nil)
			if tc.corrupt {
				_, err := c.ListTables(context.Background(), &dynamodb.ListTablesInput{})
				warned := slices.ContainsFunc(logger.Lines(), func(l string) bool { return strings.Contains(l, "checksum") })
				if (err == nil || !strings.Contains(err.Error(), "checksum")) && !warned {
					t.Fatalf("a corrupted checksum passed unnoticed: err %v, log %q", err, logger.Lines())
				}
				return
			}
			createTable(t, c, "crc-"+strconv.FormatBool(tc.corrupt), "pk", "S")
			for range 5 {
				if _, err := c.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
					t.Fatal(err)
				}
				_, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("nope"), Key: key("k")})
				if apiCode(err) != "ResourceNotFoundException" {
					t.Fatalf("GetItem on a missing table: %v", err)
				}
			}
			warned := slices.ContainsFunc(logger.Lines(), func(l string) bool { return strings.Contains(l, "checksum") })
			if warned != tc.corrupt {
				t.Fatalf("checksum warning logged = %v, want %v (log: %q)", warned, tc.corrupt, logger.Lines())
			}
		})
	}
}

// TestKeepAlive checks that the server keeps connections open across
// requests, successes and errors alike. It uses a plain HTTP client limited to
// one connection, so any second dial means the server closed the first.
func TestKeepAlive(t *testing.T) {
	_, _, endpoint := start(t)
	var dials atomic.Int64
	hc := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	calls := []struct{ target, body string }{
		{"DynamoDB_20120810.ListTables", `{}`},
		{"DynamoDB_20120810.DescribeTable", `{"TableName":"missing"}`},
		{"DynamoDB_20120810.Frobnicate", `{}`},
		{"DynamoDB_20120810.GetItem", `{"TableName":`},
	}
	for i := range 20 {
		call := calls[i%len(calls)]
		req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(call.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", call.target)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	if d := dials.Load(); d != 1 {
		t.Fatalf("%d connections for 20 sequential requests, want 1", d)
	}
}

func TestStartAndClose(t *testing.T) {
	srv := New()
	endpoint, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Fatalf("endpoint %q is not http://127.0.0.1:PORT", endpoint)
	}
	if _, err := srv.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
	c := newClient(endpoint, nil, nil)
	createTable(t, c, "survivor", "pk", "S")
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err == nil {
		t.Fatal("request succeeded after Close")
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	endpoint, err = srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	out, err := newClient(endpoint, nil, nil).ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.TableNames, []string{"survivor"}) {
		t.Fatalf("tables after restart = %q", out.TableNames)
	}
}

// TestHandlerWithoutStart uses the Server as a plain http.Handler.
func TestHandlerWithoutStart(t *testing.T) {
	ts := httptest.NewServer(New())
	defer ts.Close()
	c := newClient(ts.URL, nil, nil)
	createTable(t, c, "handler", "pk", "S")
	if _, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("handler"), Item: key("a")}); err != nil {
		t.Fatal(err)
	}
	if got := getItem(t, c, "handler", key("a")); !bytes.Equal([]byte(got["pk"].(*types.AttributeValueMemberS).Value), []byte("a")) {
		t.Fatalf("item = %v", got)
	}
}
