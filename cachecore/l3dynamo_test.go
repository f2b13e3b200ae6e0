package cachecore

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cachebench/cachebench/mocks"
)

// tierTable returns a table name unique to this test run.
func tierTable(t testing.TB) string {
	name := "cbt-" + tierUnique(t)
	if len(name) > 255 {
		name = name[len(name)-255:]
	}
	return name
}

func newTestDynamoTier(t testing.TB, client DynamoAPI, cfg DynamoConfig) *DynamoTier {
	t.Helper()
	cfg.Client = client
	if cfg.Table == "" {
		cfg.Table = tierTable(t)
	}
	d, err := NewDynamoTier(tierCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tierRawItem reads an item of the tier's table directly.
func tierRawItem(t testing.TB, c *dynamodb.Client, table, key string) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(tierCtx(t), &dynamodb.GetItemInput{TableName: aws.String(table), Key: dynamoKey(key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("raw GetItem %s: %v", key, err)
	}
	return out.Item
}

func tierPutRaw(t testing.TB, c *dynamodb.Client, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := c.PutItem(tierCtx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("raw PutItem: %v", err)
	}
}

func tierNumAttr(item map[string]types.AttributeValue, name string) (string, bool) {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return "", false
	}
	return n.Value, true
}

func TestDynamoTierConfig(t *testing.T) {
	ctx := context.Background()
	if _, err := NewDynamoTier(ctx, DynamoConfig{}); err == nil {
		t.Error("NewDynamoTier without a client succeeded")
	}
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1"}) // never called: names are checked first
	for _, name := range []string{"ab", strings.Repeat("t", 256)} {
		if _, err := NewDynamoTier(ctx, DynamoConfig{Client: c, Table: name}); err == nil || !strings.Contains(err.Error(), "3 to 255") {
			t.Errorf("table name of %d characters: err %v, want a length error", len(name), err)
		}
	}
}

func TestDynamoTier(t *testing.T) {
	for _, provider := range tierProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			env := tierEnv(t, provider)
			testDynamoTier(t, env)
		})
	}
}

func testDynamoTier(t *testing.T, env *mocks.Env) {
	raw := env.DynamoDBClient

	t.Run("EnsureTable", func(t *testing.T) {
		ctx := tierCtx(t)
		table := tierTable(t)
		// Several processes starting at once on a table that does not exist yet.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = NewDynamoTier(ctx, DynamoConfig{Client: raw, Table: table})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("concurrent NewDynamoTier #%d: %v", i, err)
			}
		}
		// And again, on the table now there.
		d, err := NewDynamoTier(ctx, DynamoConfig{Client: raw, Table: table})
		if err != nil {
			t.Fatalf("NewDynamoTier on an existing table: %v", err)
		}
		if d.Name() != "l3" || d.Table() != table || d.compressAbove != 1024 {
			t.Errorf("name %q table %q compressAbove %d", d.Name(), d.Table(), d.compressAbove)
		}
		desc, err := raw.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		if desc.Table.TableStatus != types.TableStatusActive || len(desc.Table.KeySchema) != 1 || aws.ToString(desc.Table.KeySchema[0].AttributeName) != "pk" {
			t.Errorf("table %s status %s key schema %+v", table, desc.Table.TableStatus, desc.Table.KeySchema)
		}
		ttl, err := raw.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		if s := ttl.TimeToLiveDescription; s == nil || aws.ToString(s.AttributeName) != "expires_at" ||
			(s.TimeToLiveStatus != types.TimeToLiveStatusEnabled && s.TimeToLiveStatus != types.TimeToLiveStatusEnabling) {
			t.Errorf("time to live %+v, want enabled on expires_at", s)
		}
		// A table with another key is refused, not used.
		other := tierTable(t) + "-other"
		if _, err := raw.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(other),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
			BillingMode:          types.BillingModePayPerRequest,
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := NewDynamoTier(ctx, DynamoConfig{Client: raw, Table: other}); err == nil || !strings.Contains(err.Error(), "key schema") {
			t.Errorf("NewDynamoTier on a table keyed by id: %v, want a key schema error", err)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		ctx := tierCtx(t)
		d := newTestDynamoTier(t, raw, DynamoConfig{})
		now := time.Now()
		for key, e := range tierSamples(now) {
			if ok, err := d.SetIfNewer(ctx, key, e); err != nil || !ok {
				t.Fatalf("SetIfNewer(%s) = %v, %v; want stored", key, ok, err)
			}
			got, ok, err := d.Get(ctx, key)
			if err != nil || !ok {
				t.Fatalf("Get(%s) = found %v, %v", key, ok, err)
			}
			if diff := tierSameEntry(got, e); diff != "" {
				t.Errorf("%s: %s", key, diff)
			}
			item := tierRawItem(t, raw, d.Table(), key)
			if v, _ := tierNumAttr(item, "version"); v != strconv.FormatInt(e.Version, 10) {
				t.Errorf("%s: version attribute %q, want %d", key, v, e.Version)
			}
			envB, ok := item["env"].(*types.AttributeValueMemberB)
			if !ok {
				t.Fatalf("%s: no binary env attribute in %v", key, item)
			}
			if compressed := envB.Value[1]&flagCompressed != 0; compressed != (len(e.Value) >= 1024) {
				t.Errorf("%s: %d-byte value stored compressed=%v", key, len(e.Value), compressed)
			}
		}
		if _, ok, err := d.Get(ctx, "customer:cus_never"); ok || err != nil {
			t.Errorf("Get of an absent key = found %v, %v", ok, err)
		}
		if err := d.Delete(ctx, "price:price_forever"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := d.Get(ctx, "price:price_forever"); ok {
			t.Error("deleted key still found")
		}
		s := d.Stats()
		if s.Sets != 5 || s.Gets != 7 || s.Hits != 5 || s.Misses != 2 || s.Deletes != 1 || s.Errors != 0 || s.Corrupt != 0 {
			t.Errorf("stats %+v; want 5 sets, 7 gets (5 hits, 2 misses), 1 delete", s)
		}
		// Units: 5 writes, 1 delete, 7 reads at least half a unit each.
		if s.WriteUnits < 6 || s.ReadUnits < 3.5 {
			t.Errorf("consumed capacity read %.1f write %.1f; want >= 3.5 and >= 6", s.ReadUnits, s.WriteUnits)
		}
	})

	t.Run("VersionGuard", func(t *testing.T) {
		ctx := tierCtx(t)
		d := newTestDynamoTier(t, raw, DynamoConfig{ConsistentRead: true})
		now := time.Now()
		mk := func(v int64) Entry {
			return Entry{Value: []byte("v=" + strconv.FormatInt(v, 10)), Version: v, FetchedAt: now, ExpiresAt: now.Add(time.Minute)}
		}
		steps := []struct {
			version int64
			stored  bool
			holds   int64
		}{
			{10, true, 10}, {9, false, 10}, {-3, false, 10}, {10, true, 10}, {11, true, 11},
			{1 << 62, true, 1 << 62}, {1<<62 - 1, false, 1 << 62},
		}
		for _, s := range steps {
			ok, err := d.SetIfNewer(ctx, "k", mk(s.version))
			if err != nil || ok != s.stored {
				t.Fatalf("SetIfNewer(version %d) = %v, %v; want %v", s.version, ok, err, s.stored)
			}
			got, _, _ := d.Get(ctx, "k")
			if got.Version != s.holds || string(got.Value) != "v="+strconv.FormatInt(s.holds, 10) {
				t.Fatalf("after version %d: holds %d %q, want %d", s.version, got.Version, got.Value, s.holds)
			}
		}
		if ok, _ := d.SetIfNewer(ctx, "neg", mk(-5)); !ok {
			t.Fatal("first write refused")
		}
		if ok, _ := d.SetIfNewer(ctx, "neg", mk(-6)); ok {
			t.Error("version -6 replaced -5")
		}
		if s := d.Stats(); s.SetsRejected != 4 || s.Sets != 5 {
			t.Errorf("stats %+v; want 5 sets and 4 rejected", s)
		}

		// 20 goroutines race 200 shuffled versions onto one key.
		versions := rand.Perm(200)
		var wg sync.WaitGroup
		errs := make(chan error, len(versions))
		for g := 0; g < 20; g++ {
			wg.Add(1)
			go func(vs []int) {
				defer wg.Done()
				for _, v := range vs {
					if _, err := d.SetIfNewer(ctx, "hot", mk(int64(v))); err != nil {
						errs <- err
					}
				}
			}(versions[g*10 : g*10+10])
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, ok, err := d.Get(ctx, "hot")
		if err != nil || !ok || got.Version != 199 || string(got.Value) != "v=199" {
			t.Fatalf("after 200 racing writes: %d %q found %v %v; want version 199", got.Version, got.Value, ok, err)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		ctx := tierCtx(t)
		d := newTestDynamoTier(t, raw, DynamoConfig{})
		now := time.Now()
		e := Entry{Value: []byte(`{}`), Version: 1, FetchedAt: now, ExpiresAt: now.Add(30 * time.Second), StaleUntil: now.Add(90 * time.Second)}
		if ok, err := d.SetIfNewer(ctx, "swr", e); !ok || err != nil {
			t.Fatalf("SetIfNewer = %v, %v", ok, err)
		}
		if v, ok := tierNumAttr(tierRawItem(t, raw, d.Table(), "swr"), "expires_at"); !ok || v != strconv.FormatInt(e.StaleUntil.Unix(), 10) {
			t.Errorf("expires_at %q, want %d (the end of the stale window)", v, e.StaleUntil.Unix())
		}
		e.StaleUntil = time.Time{}
		if ok, _ := d.SetIfNewer(ctx, "fresh", e); !ok {
			t.Fatal("write refused")
		}
		if v, _ := tierNumAttr(tierRawItem(t, raw, d.Table(), "fresh"), "expires_at"); v != strconv.FormatInt(e.ExpiresAt.Unix(), 10) {
			t.Errorf("expires_at %q, want %d (ExpiresAt)", v, e.ExpiresAt.Unix())
		}
		if ok, _ := d.SetIfNewer(ctx, "forever", Entry{Value: []byte(`{}`), Version: 1, FetchedAt: now}); !ok {
			t.Fatal("write refused")
		}
		if v, ok := tierNumAttr(tierRawItem(t, raw, d.Table(), "forever"), "expires_at"); ok {
			t.Errorf("an entry without expiry has expires_at %s", v)
		}
		dead := Entry{Value: []byte(`{}`), Version: 2, FetchedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}
		if ok, err := d.SetIfNewer(ctx, "dead", dead); ok || err != nil {
			t.Errorf("SetIfNewer of a dead entry = %v, %v; want not stored", ok, err)
		}
		if item := tierRawItem(t, raw, d.Table(), "dead"); item != nil {
			t.Error("a dead entry was written")
		}
		// An item past its retention that DynamoDB has not deleted yet reads as a miss.
		tierPutRaw(t, raw, d.Table(), map[string]types.AttributeValue{
			"pk":         &types.AttributeValueMemberS{Value: "expired"},
			"env":        &types.AttributeValueMemberB{Value: EncodeEntry(dead, 0)},
			"version":    &types.AttributeValueMemberN{Value: "2"},
			"expires_at": &types.AttributeValueMemberN{Value: strconv.FormatInt(dead.ExpiresAt.Unix(), 10)},
		})
		before := d.Stats()
		if _, ok, err := d.Get(ctx, "expired"); ok || err != nil {
			t.Errorf("Get of an expired item = found %v, %v; want a miss", ok, err)
		}
		if _, found, _ := d.GetMulti(ctx, []string{"expired", "fresh"}); found[0] || !found[1] {
			t.Errorf("GetMulti(expired, fresh) found %v, want [false true]", found)
		}
		if after := d.Stats(); after.Misses-before.Misses != 2 || after.Corrupt != before.Corrupt {
			t.Errorf("stats %+v -> %+v; want 2 misses, none corrupt", before, after)
		}
		// A newer write replaces the expired item.
		if ok, _ := d.SetIfNewer(ctx, "expired", Entry{Value: []byte(`{}`), Version: 3, FetchedAt: now}); !ok {
			t.Error("write over an expired item refused")
		}
	})

	t.Run("GetMultiSetMulti", func(t *testing.T) {
		ctx := tierCtx(t)
		d := newTestDynamoTier(t, raw, DynamoConfig{})
		now := time.Now()
		const n = 260
		var keys []string
		var entries []Entry
		for i := 0; i < n; i++ {
			keys = append(keys, fmt.Sprintf("customer:cus_%03d", i))
			entries = append(entries, Entry{Value: []byte(fmt.Sprintf(`{"id":"cus_%03d"}`, i)), Version: int64(100 + i), FetchedAt: now, ExpiresAt: now.Add(time.Minute)})
		}
		if ok, _ := d.SetIfNewer(ctx, keys[5], Entry{Value: []byte("newer"), Version: 1000, FetchedAt: now}); !ok {
			t.Fatal("setup write refused")
		}
		entries[7].ExpiresAt = now.Add(-time.Second) // dead: skipped
		// Write every key but the multiples of 3 (and 5 is guarded, 7 dead).
		var wkeys []string
		var wentries []Entry
		for i := range keys {
			if i%3 != 0 || i == 0 {
				wkeys = append(wkeys, keys[i])
				wentries = append(wentries, entries[i])
			}
		}
		wBefore := d.Stats().WriteUnits
		if err := d.SetMulti(ctx, wkeys, wentries); err != nil {
			t.Fatal(err)
		}
		s := d.Stats()
		if want := uint64(1 + len(wkeys) - 2); s.Sets != want || s.SetsRejected != 1 {
			t.Errorf("after SetMulti: %+v; want %d sets, 1 rejected", s, want)
		}
		if s.WriteUnits-wBefore < float64(len(wkeys)-2) {
			t.Errorf("SetMulti of %d entries consumed %.1f write units", len(wkeys), s.WriteUnits-wBefore)
		}
		// All n keys, reversed, plus absent and repeated keys: several BatchGetItem calls.
		var ask []string
		for i := n - 1; i >= 0; i-- {
			ask = append(ask, keys[i])
		}
		ask = append(ask, "customer:cus_absent", keys[1], keys[1])
		before := d.Stats()
		got, found, err := d.GetMulti(ctx, ask)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ask) || len(found) != len(ask) {
			t.Fatalf("GetMulti returned %d entries for %d keys", len(got), len(ask))
		}
		hits := 0
		for j, k := range ask {
			i := -1
			if k != "customer:cus_absent" {
				i, _ = strconv.Atoi(strings.TrimPrefix(k, "customer:cus_"))
			}
			wantFound, wantValue := i >= 0 && (i%3 != 0 || i == 0) && i != 7, ""
			if wantFound {
				wantValue = fmt.Sprintf(`{"id":"cus_%03d"}`, i)
				hits++
			}
			if i == 5 {
				wantValue = "newer"
			}
			if found[j] != wantFound || string(got[j].Value) != wantValue {
				t.Errorf("GetMulti[%d] (%s) = found %v %q, want %v %q", j, k, found[j], got[j].Value, wantFound, wantValue)
			}
		}
		after := d.Stats()
		if after.Gets-before.Gets != uint64(len(ask)) || after.Hits-before.Hits != uint64(hits) || after.Misses-before.Misses != uint64(len(ask)-hits) {
			t.Errorf("GetMulti counted %+v -> %+v; want %d gets, %d hits", before, after, len(ask), hits)
		}
		if after.ReadUnits-before.ReadUnits <= 0 {
			t.Errorf("GetMulti consumed no read units (%.1f -> %.1f)", before.ReadUnits, after.ReadUnits)
		}
		if e, f, err := d.GetMulti(ctx, nil); len(e) != 0 || len(f) != 0 || err != nil {
			t.Errorf("GetMulti(nil) = %v %v %v", e, f, err)
		}
		if err := d.SetMulti(ctx, keys[:2], entries[:1]); err == nil {
			t.Error("SetMulti with mismatched lengths succeeded")
		}
	})

	t.Run("UnprocessedKeys", func(t *testing.T) {
		ctx := tierCtx(t)
		flaky := &unprocessingDynamo{DynamoAPI: raw, stingy: 3}
		d := newTestDynamoTier(t, flaky, DynamoConfig{})
		now := time.Now()
		var keys []string
		var entries []Entry
		for i := 0; i < 150; i++ {
			keys = append(keys, "k"+strconv.Itoa(i))
			entries = append(entries, Entry{Value: []byte(strconv.Itoa(i)), Version: 1, FetchedAt: now})
		}
		if err := d.SetMulti(ctx, keys, entries); err != nil {
			t.Fatal(err)
		}
		got, found, err := d.GetMulti(ctx, keys)
		if err != nil {
			t.Fatalf("GetMulti with keys left unprocessed twice: %v", err)
		}
		for i := range keys {
			if !found[i] || string(got[i].Value) != strconv.Itoa(i) {
				t.Fatalf("key %s: found %v %q", keys[i], found[i], got[i].Value)
			}
		}
		if calls := flaky.calls.Load(); calls < 4 {
			t.Errorf("%d BatchGetItem calls; the unprocessed keys were not retried", calls)
		}
		// A table that never processes a key: bounded retries, then an error with the
		// keys it did read.
		flaky.stingy, flaky.withhold = 0, "k9"
		flaky.calls.Store(0)
		start := time.Now()
		got, found, err = d.GetMulti(ctx, keys[:10])
		if err == nil || !strings.Contains(err.Error(), "unprocessed") {
			t.Fatalf("GetMulti against a table that always leaves keys unprocessed: %v", err)
		}
		if calls := flaky.calls.Load(); calls != dynamoBatchGetAttempts {
			t.Errorf("%d BatchGetItem calls, want %d", calls, dynamoBatchGetAttempts)
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("gave up after %v", time.Since(start))
		}
		for i := 0; i < 9; i++ {
			if !found[i] || string(got[i].Value) != strconv.Itoa(i) {
				t.Errorf("partial result: key %d found %v %q, want found", i, found[i], got[i].Value)
			}
		}
		if found[9] {
			t.Error("the withheld key was found")
		}
		if s := d.Stats(); s.Errors != 1 {
			t.Errorf("stats %+v; want 1 error (the unprocessed key)", s)
		}
	})

	t.Run("Corrupt", func(t *testing.T) {
		ctx := tierCtx(t)
		d := newTestDynamoTier(t, raw, DynamoConfig{})
		bad := []map[string]types.AttributeValue{
			{"env": &types.AttributeValueMemberB{Value: []byte("garbage")}},
			{"env": &types.AttributeValueMemberB{Value: append([]byte{envelopeV1, flagCompressed}, bytes.Repeat([]byte{0xff}, 40)...)}},
			{"env": &types.AttributeValueMemberS{Value: "a string"}},
			{"other": &types.AttributeValueMemberS{Value: "no env at all"}},
		}
		var keys []string
		for i, item := range bad {
			key := "bad" + strconv.Itoa(i)
			keys = append(keys, key)
			item["pk"] = &types.AttributeValueMemberS{Value: key}
			item["version"] = &types.AttributeValueMemberN{Value: "1"}
			tierPutRaw(t, raw, d.Table(), item)
			if _, ok, err := d.Get(ctx, key); ok || err != nil {
				t.Errorf("Get of corrupt item %d = found %v, %v; want a miss", i, ok, err)
			}
		}
		_, found, err := d.GetMulti(ctx, keys)
		if err != nil || found[0] || found[1] || found[2] || found[3] {
			t.Errorf("GetMulti of corrupt items = %v, %v", found, err)
		}
		if s := d.Stats(); s.Corrupt != 8 || s.Misses != 8 || s.Errors != 0 {
			t.Errorf("stats %+v; want 8 corrupt misses, no errors", s)
		}
	})

	t.Run("Oversize", func(t *testing.T) {
		ctx := tierCtx(t)
		d := newTestDynamoTier(t, raw, DynamoConfig{CompressAbove: -1})
		now := time.Now()
		noise := make([]byte, 500<<10)
		_, _ = crand.Read(noise) // incompressible
		if ok, err := d.SetIfNewer(ctx, "noise", Entry{Value: noise, Version: 1, FetchedAt: now}); ok || err != nil {
			t.Errorf("SetIfNewer of a 500 KB incompressible value = %v, %v; want skipped", ok, err)
		}
		if s := d.Stats(); s.Oversize != 1 || s.Errors != 0 || s.Sets != 0 {
			t.Errorf("stats %+v; want 1 oversize, no error", s)
		}
		if item := tierRawItem(t, raw, d.Table(), "noise"); item != nil {
			t.Error("an oversize item was written")
		}
		// Just under the limit, uncompressed (compression is off): stored as is.
		fits := noise[:dynamoMaxItem-dynamoItemMargin-200]
		if ok, err := d.SetIfNewer(ctx, "fits", Entry{Value: fits, Version: 1, FetchedAt: now}); !ok || err != nil {
			t.Fatalf("SetIfNewer of a %d-byte value = %v, %v; want stored", len(fits), ok, err)
		}
		// A 400 KB read from DynamoDB Local can fail on a loaded machine; that is not what
		// this checks, so a failed read is tried again (and said).
		var got Entry
		var ok bool
		for try := 1; try <= 3; try++ {
			var err error
			if got, ok, err = d.Get(ctx, "fits"); err == nil && ok {
				break
			}
			t.Logf("read %d of the largest value that fits: found %v, %v", try, ok, err)
			time.Sleep(100 * time.Millisecond)
		}
		if !ok || !bytes.Equal(got.Value, fits) {
			t.Errorf("the largest value that fits did not read back (found %v, %d bytes)", ok, len(got.Value))
		}
		// 1 MB of JSON compresses to fit: written compressed though CompressAbove is -1.
		big := bytes.Repeat([]byte(`{"id":"cus_1","object":"customer"},`), 1<<20/35)
		if ok, err := d.SetIfNewer(ctx, "big", Entry{Value: big, Version: 1, FetchedAt: now}); !ok || err != nil {
			t.Fatalf("SetIfNewer of 1 MB compressible JSON = %v, %v; want stored compressed", ok, err)
		}
		if env, _ := tierRawItem(t, raw, d.Table(), "big")["env"].(*types.AttributeValueMemberB); env == nil || env.Value[1]&flagCompressed == 0 {
			t.Error("1 MB value not stored compressed")
		}
		if got, ok, _ := d.Get(ctx, "big"); !ok || !bytes.Equal(got.Value, big) {
			t.Error("1 MB value did not read back")
		}
		// SetMulti skips the oversize entry and writes the rest.
		if err := d.SetMulti(ctx, []string{"noise2", "small"}, []Entry{{Value: noise, Version: 1}, {Value: []byte("s"), Version: 1}}); err != nil {
			t.Fatal(err)
		}
		if s := d.Stats(); s.Oversize != 2 || s.Sets != 3 {
			t.Errorf("stats %+v; want 2 oversize, 3 sets", s)
		}
	})

	t.Run("ReadUnits", func(t *testing.T) {
		ctx := tierCtx(t)
		table := tierTable(t)
		eventual := newTestDynamoTier(t, raw, DynamoConfig{Table: table})
		consistent := newTestDynamoTier(t, raw, DynamoConfig{Table: table, ConsistentRead: true})
		if ok, _ := eventual.SetIfNewer(ctx, "k", Entry{Value: []byte(`{}`), Version: 1}); !ok {
			t.Fatal("write refused")
		}
		if w := eventual.Stats().WriteUnits; w != 1 {
			t.Errorf("a small write consumed %.2f write units, want 1", w)
		}
		for i := 0; i < 4; i++ {
			_, _, _ = eventual.Get(ctx, "k")
			_, _, _ = consistent.Get(ctx, "k")
		}
		e, c := eventual.Stats().ReadUnits, consistent.Stats().ReadUnits
		if c != 4 || e != 2 {
			t.Errorf("4 reads of a small item: %.2f units eventually consistent, %.2f strongly; want 2 and 4", e, c)
		}
		// A refused write costs a unit too (estimated).
		if ok, _ := eventual.SetIfNewer(ctx, "k", Entry{Value: []byte(`{}`), Version: 0}); ok {
			t.Fatal("older version stored")
		}
		if w := eventual.Stats().WriteUnits; w != 2 {
			t.Errorf("after a refused write: %.2f write units, want 2", w)
		}
		// SetBytes counts the stored item only: pk "k", the envelope of "{}", version, no expiry.
		want := uint64(len("pk") + 1 + len("env") + envelopeHeaderSize + 2 + len("version") + 21)
		if st := eventual.Stats(); st.Sets != 1 || st.SetBytes != want {
			t.Errorf("Sets %d, SetBytes %d; want 1 item of %d bytes", st.Sets, st.SetBytes, want)
		}
	})
}

// unprocessingDynamo leaves keys of BatchGetItem calls unprocessed, as DynamoDB does when
// throttled: half of each call's keys for the first stingy calls, and the key withhold
// always. Set its fields before the tier uses it.
type unprocessingDynamo struct {
	DynamoAPI
	stingy   int64
	withhold string
	calls    atomic.Int64
}

func (u *unprocessingDynamo) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	n := u.calls.Add(1)
	out := &dynamodb.BatchGetItemOutput{
		Responses:       map[string][]map[string]types.AttributeValue{},
		UnprocessedKeys: map[string]types.KeysAndAttributes{},
	}
	for table, ka := range in.RequestItems {
		var process, hold []map[string]types.AttributeValue
		for i, k := range ka.Keys {
			pk, _ := k["pk"].(*types.AttributeValueMemberS)
			if (pk != nil && pk.Value == u.withhold) || (n <= u.stingy && i >= (len(ka.Keys)+1)/2) {
				hold = append(hold, k)
			} else {
				process = append(process, k)
			}
		}
		if len(process) > 0 {
			part := ka
			part.Keys = process
			o, err := u.DynamoAPI.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
				RequestItems:           map[string]types.KeysAndAttributes{table: part},
				ReturnConsumedCapacity: in.ReturnConsumedCapacity,
			}, opts...)
			if err != nil {
				return nil, err
			}
			out.Responses[table] = o.Responses[table]
			out.ConsumedCapacity = append(out.ConsumedCapacity, o.ConsumedCapacity...)
		}
		if len(hold) > 0 {
			rest := ka
			rest.Keys = hold
			out.UnprocessedKeys[table] = rest
		}
	}
	return out, nil
}
