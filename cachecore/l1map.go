package cachecore

import (
	"sync"
	"time"
)

// l1Map is the map policy: a plain Go map under a read-write mutex, with no bound and no
// eviction. It is the "a map is enough" baseline that in-process caches are measured
// against: an entry leaves only when a read or a write finds its retention ended, so keys
// that are written once and never read again stay until the process ends, as they do in
// the map-with-TTL a handler would write by hand.
type l1Map struct {
	mu          sync.RWMutex
	m           map[string]Entry
	bytes       int64
	expirations uint64
}

func newL1Map() *l1Map { return &l1Map{m: make(map[string]Entry)} }

func (c *l1Map) get(key string, now time.Time) (Entry, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !e.Dead(now) {
		return e, ok
	}
	c.mu.Lock()
	// Another writer may have replaced it meanwhile: drop only a dead entry.
	if cur, found := c.m[key]; found && cur.Dead(now) {
		c.removeLocked(key, &cur)
		c.expirations++
	}
	c.mu.Unlock()
	return Entry{}, false
}

func (c *l1Map) setIfNewer(key string, e Entry, storable bool, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, found := c.m[key]; found {
		switch l1Judge(&old, &e, storable, now) {
		case l1Keep:
			return false
		case l1DropDead:
			c.removeLocked(key, &old)
			c.expirations++
		case l1Drop:
			c.removeLocked(key, &old)
		case l1Replace:
			c.bytes -= l1Bytes(key, &old)
		}
	}
	if !storable {
		return false
	}
	c.m[key] = e
	c.bytes += l1Bytes(key, &e)
	return true
}

func (c *l1Map) delete(key string) {
	c.mu.Lock()
	if e, ok := c.m[key]; ok {
		c.removeLocked(key, &e)
	}
	c.mu.Unlock()
}

func (c *l1Map) removeLocked(key string, e *Entry) {
	delete(c.m, key)
	c.bytes -= l1Bytes(key, e)
}

func (c *l1Map) stats() L1Stats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return L1Stats{Entries: len(c.m), Bytes: c.bytes, Expirations: c.expirations}
}
