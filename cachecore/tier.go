package cachecore

import (
	"context"
	"errors"
)

// ErrNotFound is returned by an Origin for an object that does not exist (Stripe's
// resource_missing), and by Cache.Get when that is the answer, cached or not.
var ErrNotFound = errors.New("object not found")

// Tier is one level of the cache below L1: Redis (L2) or DynamoDB (L3). Implementations
// keep entries at most until Entry.retention says, never replace an entry with one of a
// lower version (SetIfNewer), and return errors only for failures of the tier itself: a
// missing key is (Entry{}, false, nil).
type Tier interface {
	// Name is the tier's label in statistics: "l2" or "l3".
	Name() string
	// Get returns the entry stored for key.
	Get(ctx context.Context, key string) (Entry, bool, error)
	// GetMulti returns the entries for keys, in order; found[i] tells whether entries[i]
	// was present.
	GetMulti(ctx context.Context, keys []string) (entries []Entry, found []bool, err error)
	// SetIfNewer stores e under key unless the tier holds an entry with a higher version.
	// It reports whether e was stored.
	SetIfNewer(ctx context.Context, key string, e Entry) (bool, error)
	// SetMulti stores several entries (each guarded like SetIfNewer) in as few round trips
	// as the tier allows: the backfill of a batch read.
	SetMulti(ctx context.Context, keys []string, entries []Entry) error
	// Delete removes key whatever its version.
	Delete(ctx context.Context, key string) error
}

// Origin is where objects come from on a full miss: the Stripe API.
type Origin interface {
	// Fetch returns the current JSON of the object named by ref, and its version when the
	// object carries one (ok=false means: use the fetch time). A missing object is
	// ErrNotFound.
	Fetch(ctx context.Context, ref Ref) (value []byte, version int64, ok bool, err error)
}

// OriginFunc adapts a function to the Origin interface: a custom origin, or a stand-in in
// tests and examples.
type OriginFunc func(ctx context.Context, ref Ref) (value []byte, version int64, ok bool, err error)

// Fetch calls f.
func (f OriginFunc) Fetch(ctx context.Context, ref Ref) ([]byte, int64, bool, error) {
	return f(ctx, ref)
}
