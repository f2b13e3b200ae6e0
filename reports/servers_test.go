package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestServersSection: the services' own counters appear beside cachebench's in both
// renderings, with the explanation of the difference; a counter the service did not
// report says so, and is absent from result.json rather than zero.
func TestServersSection(t *testing.T) {
	r := fixtureResult(t)
	hits, misses, cmds := int64(900), int64(150), int64(1200)
	r.Servers = &Servers{
		Redis:    &RedisServer{KeyspaceHits: &hits, KeyspaceMisses: &misses, Commands: &cmds},
		DynamoDB: &DynamoDBServer{ConsumedRCU: 12.5, ConsumedWCU: 3},
		Stripe:   &StripeServer{Requests: 40, Reads: 38},
	}
	var md, html bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"markdown": md.String(), "html": html.String()} {
		for _, want := range []string{"Servers", "keyspace_hits 900", "keyspace_misses 150", "85.71%", "CacheHitRate",
			"12.5 RCU, 3.0 WCU", "40 (38 reads)", "not reported", "reads the key first"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s report lacks %q", name, want)
			}
		}
	}
	data, err := json.Marshal(r.Servers)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(data); strings.Contains(s, "evicted_keys") || strings.Contains(s, "used_memory_peak_bytes") || !strings.Contains(s, `"keyspace_hits":900`) {
		t.Errorf("servers JSON %s: want unreported counters left out and reported ones kept", s)
	}
	// Without the block, no section.
	r.Servers = nil
	md.Reset()
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "Servers' own counters") {
		t.Error("a result without servers still has the section")
	}
}
