package workload

import (
	"net/url"
	"strings"
	"testing"
)

func TestIDs(t *testing.T) {
	for _, tc := range []struct{ object, want string }{
		{ObjectCustomer, "cus_cb0000000042"},
		{ObjectSubscription, "sub_cb0000000042"},
		{ObjectPrice, "price_cb0000000042"},
		{ObjectInvoice, "in_cb0000000042"},
		{ObjectProduct, "prod_cb0000000042"},
		{"charge", "obj_cb0000000042"},
	} {
		ids := IDs(tc.object, 100)
		if len(ids) != 100 || ids[42] != tc.want {
			t.Errorf("IDs(%q, 100)[42] = %q, want %q", tc.object, ids[42], tc.want)
		}
		if again := IDs(tc.object, 50); again[42] != ids[42] {
			t.Errorf("%s: index 42 is %q with count 50 and %q with count 100", tc.object, again[42], ids[42])
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("%s: duplicate ID %q", tc.object, id)
			}
			seen[id] = true
			if url.PathEscape(id) != id || !validID(id) {
				t.Fatalf("ID %q is not safe in a URL path", id)
			}
		}
		if obj, ok := objectOfID(tc.want); tc.object != "charge" && (!ok || obj != tc.object) {
			t.Errorf("objectOfID(%q) = %q, %v", tc.want, obj, ok)
		}
	}
	if IDs(ObjectCustomer, 0) != nil {
		t.Error("IDs with count 0 is not nil")
	}
	for _, obj := range ObjectTypes() {
		if p, ok := IDPrefix(obj); !ok || p == "" {
			t.Errorf("IDPrefix(%q) = %q, %v", obj, p, ok)
		}
	}
	if _, ok := IDPrefix("charge"); ok {
		t.Error("IDPrefix knows charge")
	}
}

func TestIDTableWidens(t *testing.T) {
	// Counts past 10^10 need more digits; check the width without building such a table.
	tab := newIDTable(ObjectCustomer, 12)
	if tab.width != len("cus_cb0000000000") || tab.id(11) != "cus_cb0000000011" {
		t.Fatalf("width %d, id(11) %q", tab.width, tab.id(11))
	}
	if !strings.HasPrefix(tab.data, "cus_cb0000000000cus_cb0000000001") {
		t.Fatalf("data %q", tab.data[:40])
	}
}
