package stripeoverlay

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// VersionMetadataKey is the metadata key every object response and event carries its
// version under, as a decimal string; it equals cachecore.VersionMetadataKey.
const VersionMetadataKey = "cachebench_version"

// Response headers the overlay adds to every answer about one object.
const (
	HeaderVersion = "Cachebench-Version" // the object's version, decimal
	HeaderObject  = "Cachebench-Object"  // "customer/cus_123"
)

// deleteStyle is what DELETE /v1/<plural>/<id> does to an object of a kind.
type deleteStyle int

const (
	deleteNone   deleteStyle = iota // Stripe has no DELETE for the kind: forwarded untouched
	deleteStub                      // gone; GET answers {"id":..,"object":..,"deleted":true}
	deleteGone                      // gone; GET answers 404 resource_missing
	deleteCancel                    // cancels: the object stays, with status "canceled"
)

// objectKind is one kind of Stripe object the overlay versions.
type objectKind struct {
	name   string // the object's "object" field and the type Check takes: "customer"
	plural string // its path segment: /v1/customers/<id>
	event  string // its events' type prefix: "customer", "customer.subscription"
	del    deleteStyle
}

// kinds are the versioned object kinds.
var kinds = []*objectKind{
	{name: "customer", plural: "customers", event: "customer", del: deleteStub},
	{name: "subscription", plural: "subscriptions", event: "customer.subscription", del: deleteCancel},
	{name: "price", plural: "prices", event: "price", del: deleteNone},
	{name: "invoice", plural: "invoices", event: "invoice", del: deleteGone},
	{name: "product", plural: "products", event: "product", del: deleteGone},
	{name: "coupon", plural: "coupons", event: "coupon", del: deleteGone},
	{name: "plan", plural: "plans", event: "plan", del: deleteGone},
	{name: "charge", plural: "charges", event: "charge", del: deleteNone},
}

// ObjectTypes lists the object types the overlay versions, as Check and Update name them.
func ObjectTypes() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.name
	}
	return out
}

func kindByName(name string) *objectKind {
	for _, k := range kinds {
		if k.name == name {
			return k
		}
	}
	return nil
}

func kindByPlural(plural string) *objectKind {
	for _, k := range kinds {
		if k.plural == plural {
			return k
		}
	}
	return nil
}

// notIDs are path segments under /v1/<plural>/ that name an endpoint, not an object.
var notIDs = []string{"search", "upcoming", "create_preview", "upcoming_lines"}

// objectPath parses /v1/<plural>/<id>; ok is false for any other path.
func objectPath(p string) (kind *objectKind, id string, ok bool) {
	rest, found := strings.CutPrefix(p, "/v1/")
	if !found {
		return nil, "", false
	}
	plural, id, found := strings.Cut(rest, "/")
	if !found || id == "" || strings.Contains(id, "/") || slices.Contains(notIDs, id) {
		return nil, "", false
	}
	kind = kindByPlural(plural)
	return kind, id, kind != nil
}

// objKey names one object.
type objKey struct {
	kind *objectKind
	id   string
}

func (k objKey) String() string { return k.kind.name + "/" + k.id }

// Change is one version of an object: the version, when it became current, and whether
// it is the object's deletion (the object is gone from then on).
type Change struct {
	Version int64
	At      time.Time
	Deleted bool
}

// objState is what the overlay remembers of an object that changed since it started.
// Objects never changed have no state: version 1, current since the overlay started.
type objState struct {
	// wmu serialises the object's writers, held across their upstream calls so that the
	// state they read before a change is the state they change.
	wmu sync.Mutex

	// Guarded by Overlay.mu.
	history  []Change          // history[i].Version == i+1
	fields   map[string]any    // top-level fields set by updates, JSON-decoded
	metadata map[string]string // the object's metadata; nil: the fixture's
	gone     bool              // deleted (deleteStub and deleteGone kinds)
}

func (s *objState) version() int64 { return int64(len(s.history)) }

// Verdict is the staleness oracle's answer about a version of an object read at a time.
type Verdict struct {
	// Known reports whether version is one the object has had: 1 up to its latest.
	Known bool
	// Current reports whether version was the current one (or newer) at the time asked.
	Current bool
	// CurrentVersion is the version current at the time asked.
	CurrentVersion int64
	// StaleBy is 0 when Current; otherwise how long before the time asked the version
	// after the given one became current. It is 0 at the very instant of a change too,
	// so test staleness with Current, not with StaleBy > 0.
	StaleBy time.Duration
	// Deleted reports whether the object was deleted at the time asked.
	Deleted bool
}

// Check tells whether version of the object objectType/id ("customer", "cus_123") was
// current at time at, and if not, for how long it had been stale: exact for any
// history, since the overlay keeps every version's time. An unknown object type, or a
// version below 1 or above the latest, is not Known. Times before the overlay started
// count as version 1's.
func (o *Overlay) Check(objectType, id string, version int64, at time.Time) Verdict {
	kind := kindByName(objectType)
	if kind == nil {
		return Verdict{}
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	hist := []Change{{Version: 1, At: o.started}}
	if st := o.objects[objKey{kind, id}]; st != nil {
		hist = st.history
	}
	return verdictAt(hist, version, at)
}

// verdictAt judges version against hist, an object's changes in order (hist[i] is
// version i+1): whether it was current at at and, if not, for how long it had been stale.
func verdictAt(hist []Change, version int64, at time.Time) Verdict {
	// cur is the index of the last change at or before at (version 1 when none is).
	cur := sort.Search(len(hist)-1, func(j int) bool { return hist[j+1].At.After(at) })
	v := Verdict{
		Known:          version >= 1 && version <= int64(len(hist)),
		CurrentVersion: hist[cur].Version,
		Deleted:        hist[cur].Deleted,
	}
	switch {
	case !v.Known:
	case version >= v.CurrentVersion:
		v.Current = true
	default:
		v.StaleBy = at.Sub(hist[version].At) // hist[version] is version+1
	}
	return v
}

// Version returns the latest version of the object objectType/id: 1 for one never
// changed, 0 for an unknown object type.
func (o *Overlay) Version(objectType, id string) int64 {
	kind := kindByName(objectType)
	if kind == nil {
		return 0
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	if st := o.objects[objKey{kind, id}]; st != nil {
		return st.version()
	}
	return 1
}

// History returns every version of the object objectType/id with the time it became
// current, oldest first: one entry (version 1 at the overlay's start) for an object never
// changed, none for an unknown object type.
func (o *Overlay) History(objectType, id string) []Change {
	kind := kindByName(objectType)
	if kind == nil {
		return nil
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	if st := o.objects[objKey{kind, id}]; st != nil {
		return slices.Clone(st.history)
	}
	return []Change{{Version: 1, At: o.started}}
}

// state returns the object's state, creating it (at version 1) when create is set;
// nil when it has none and create is not set.
func (o *Overlay) state(k objKey, create bool) *objState {
	o.mu.RLock()
	st := o.objects[k]
	o.mu.RUnlock()
	if st != nil || !create {
		return st
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if st = o.objects[k]; st == nil {
		st = &objState{history: []Change{{Version: 1, At: o.started}}}
		o.objects[k] = st
	}
	return st
}
