package cachecore

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"
)

// fullCustomer is a customer as Stripe sends it (indented), trimmed to a dozen fields.
const fullCustomer = `{
  "id": "cus_1",
  "object": "customer",
  "address": null,
  "balance": 0,
  "created": 1700000000,
  "currency": "usd",
  "description": "a customer with a long enough description to matter",
  "email": "jenny@example.com",
  "invoice_settings": {"custom_fields": null, "default_payment_method": null, "footer": null},
  "livemode": false,
  "metadata": {"plan": "pro", "cachebench_version": "7"},
  "name": "Jenny Rosen",
  "preferred_locales": ["en"],
  "shipping": null,
  "tax_exempt": "none"
}`

func TestProjectionApply(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
		in     string
		want   string
	}{
		{"keeps id and object first", []string{"email"}, fullCustomer, `{"id":"cus_1","object":"customer","email":"jenny@example.com"}`},
		{"drops the others, keeps values verbatim", []string{"email", "metadata"}, fullCustomer,
			`{"id":"cus_1","object":"customer","email":"jenny@example.com","metadata":{"plan": "pro", "cachebench_version": "7"}}`},
		{"an unknown field is ignored", []string{"no_such_field", "email"}, fullCustomer, `{"id":"cus_1","object":"customer","email":"jenny@example.com"}`},
		{"repeats are kept once", []string{"id", "email", "email"}, fullCustomer, `{"id":"cus_1","object":"customer","email":"jenny@example.com"}`},
		{"an object lacking id and object", []string{"a"}, `{"a":1,"b":2}`, `{"a":1}`},
		{"an empty object", []string{"a"}, `{}`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewProjection(tt.fields)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Apply([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Apply = %s\nwant    %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("Apply gave invalid JSON: %s", got)
			}
		})
	}
}

func TestProjectionRefusesWhatIsNotAnObject(t *testing.T) {
	p, err := NewProjection([]string{"email"})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{``, `null`, `[1,2]`, `"cus_1"`, `42`, `{"id":`, `{"id":"x"} trailing`, "\x00\xff"} {
		t.Run(in, func(t *testing.T) {
			out, err := p.Apply([]byte(in))
			if err == nil {
				t.Fatalf("Apply(%q) = %s, want an error", in, out)
			}
			if !strings.Contains(err.Error(), "want a JSON object") {
				t.Errorf("error %q does not say what was expected", err)
			}
		})
	}
}

func TestNewProjectionRefuses(t *testing.T) {
	for _, tt := range []struct {
		fields []string
		want   string
	}{
		{nil, "no fields named"},
		{[]string{"email", ""}, "empty field name"},
		{[]string{"metadata.plan"}, `name its top-level field ("metadata")`},
	} {
		if _, err := NewProjection(tt.fields); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewProjection(%q) = %v, want an error containing %q", tt.fields, err, tt.want)
		}
	}
	if err := (Config{Origin: &fakeOrigin{}, Fields: []string{"a.b"}}).Validate(); err == nil || !strings.Contains(err.Error(), "Fields") {
		t.Errorf("Validate with a nested field = %v, want an error naming Fields", err)
	}
}

// TestCacheHoldsProjection: with Config.Fields, what the origin returns and what a webhook
// event carries are stored projected in every tier, and the version comes from the whole
// object.
func TestCacheHoldsProjection(t *testing.T) {
	ctx := context.Background()
	origin := &fakeOrigin{objects: map[string][]byte{"customer:cus_1": []byte(fullCustomer)}}
	l2, l3 := newFakeTier("l2"), newFakeTier("l3")
	// Fetches take their version from the clock (the fake origin stamps none): 5, below
	// the event's 9.
	clk := &clock{t: time.Unix(0, 5)}
	c := newTestCache(t, Config{L1: mustL1(t, L1Config{}), L2: l2, L3: l3, Origin: origin, Fields: []string{"email"}, Now: clk.Now})
	ref := Ref{Object: ObjectCustomer, ID: "cus_1"}
	res, err := c.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"cus_1","object":"customer","email":"jenny@example.com"}`
	if string(res.Value) != want {
		t.Errorf("read %s, want %s", res.Value, want)
	}
	for _, tier := range []*fakeTier{l2, l3} {
		if e, ok := tier.peek(ref.Key()); !ok || string(e.Value) != want {
			t.Errorf("%s holds %s, want %s", tier.name, e.Value, want)
		}
	}
	cus, _, err := c.GetCustomer(ctx, "cus_1")
	if err != nil || cus.Email != "jenny@example.com" || cus.Name != "" {
		t.Errorf("GetCustomer = %+v, %v; want the email and nothing else", cus, err)
	}

	// An event's object is projected too; its version is read from the whole object.
	if err := c.Apply(ctx, customerEvent("cus_1", 9, "customer.updated")); err != nil {
		t.Fatal(err)
	}
	wantEv := `{"id":"cus_1","object":"customer"}` // the event's object has no email
	for _, tier := range []*fakeTier{l2, l3} {
		e, ok := tier.peek(ref.Key())
		if !ok || string(e.Value) != wantEv || e.Version != 9 {
			t.Errorf("%s holds %s at version %d after the event, want %s at 9", tier.name, e.Value, e.Version, wantEv)
		}
	}
	if res, err := c.Get(ctx, ref); err != nil || string(res.Value) != wantEv || res.Tier != TierL1 {
		t.Errorf("read after the event = %s from %v (%v), want %s from l1", res.Value, res.Tier, err, wantEv)
	}
}

// TestCacheProjectionOfBadOriginAnswer: an origin answer that is not a JSON object fails
// the read (an origin error), rather than being cached whole.
func TestCacheProjectionOfBadOriginAnswer(t *testing.T) {
	origin := &fakeOrigin{objects: map[string][]byte{"customer:cus_1": []byte(`[1,2,3]`)}}
	l2 := newFakeTier("l2")
	c := newTestCache(t, Config{L2: l2, Origin: origin, Fields: []string{"email"}})
	ref := Ref{Object: ObjectCustomer, ID: "cus_1"}
	if _, err := c.Get(context.Background(), ref); err == nil || !strings.Contains(err.Error(), "want a JSON object") {
		t.Fatalf("Get = %v, want the projection's error", err)
	}
	if _, ok := l2.peek(ref.Key()); ok {
		t.Error("L2 holds the answer that failed projection")
	}
	if s := c.Stats(); s.OriginErrors != 1 {
		t.Errorf("OriginErrors = %d, want 1", s.OriginErrors)
	}
}

// BenchmarkProjection is what projecting one fetched customer costs, beside the
// json.Valid pass stripe-go's decode already makes over the same bytes.
func BenchmarkProjection(b *testing.B) {
	raw := []byte(fullCustomer)
	p, err := NewProjection([]string{"email", "metadata"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("project", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := p.Apply(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if !json.Valid(raw) {
				b.Fatal("invalid")
			}
		}
	})
}

// FuzzProjection: whatever the input, Apply does not panic; when it succeeds, its output is
// a JSON object holding exactly the kept fields of the input, with the same values.
func FuzzProjection(f *testing.F) {
	for _, s := range []string{fullCustomer, `{}`, `[]`, `null`, `{"id":"a","id":"b"}`, `{"em\u0061il":"x","a":[{"}":"]"}]}`, `{"email":"a\"b"}`} {
		f.Add([]byte(s))
	}
	p, err := NewProjection([]string{"email", "metadata", "a"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := p.Apply(raw)
		var in map[string]json.RawMessage
		if json.Unmarshal(raw, &in) != nil || in == nil {
			if err == nil {
				t.Fatalf("Apply(%q) = %s, want an error", raw, out)
			}
			return
		}
		if err != nil {
			t.Fatalf("Apply(%q): %v", raw, err)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("Apply(%q) = %s, not an object: %v", raw, out, err)
		}
		want := map[string]json.RawMessage{}
		for _, k := range p.Fields() {
			if v, ok := in[k]; ok {
				want[k] = v
			}
		}
		if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Fatalf("Apply(%q) = %s, want the fields %v", raw, out, want)
		}
	})
}
