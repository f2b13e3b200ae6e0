package cachecore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// objectOfEvent maps a Stripe event type to the object type it changes and the action:
// "customer.updated" → (customer, updated); "customer.subscription.deleted" →
// (subscription, deleted). Types the cache does not hold give "".
func objectOfEvent(typ string) (object, action string) {
	i := strings.LastIndexByte(typ, '.')
	if i < 0 {
		return "", ""
	}
	prefix, action := typ[:i], typ[i+1:]
	switch prefix {
	case "customer":
		object = ObjectCustomer
	case "customer.subscription":
		object = ObjectSubscription
	case "price":
		object = ObjectPrice
	case "invoice":
		object = ObjectInvoice
	case "product":
		object = ObjectProduct
	default:
		return "", ""
	}
	return object, action
}

// eventVersion is the version of the object state an event carries: the version stamped in
// its metadata when there is one, else the end of the second the event was created in.
// Stripe's created time has one-second resolution; taking the end of that second means a
// fetch that started within it (and may have read the state before the change) never
// outranks the event. Two changes within one second cannot be ordered this way, which is
// why the mocks' Stripe overlay stamps versions.
func eventVersion(ev *stripe.Event) int64 {
	if ev.Data != nil {
		if md, ok := ev.Data.Object["metadata"].(map[string]any); ok {
			if s, ok := md[VersionMetadataKey].(string); ok {
				if v, err := strconv.ParseInt(s, 10, 64); err == nil {
					return v
				}
			}
		}
	}
	return (ev.Created+1)*int64(time.Second) - 1
}

// Apply brings every tier up to date with a Stripe webhook event: *.deleted caches "does
// not exist", other events store the event's object (EventMode refresh) or drop the key
// (EventMode invalidate). Every write is guarded by version, so a duplicate or an event
// older than what a tier holds changes nothing. Other instances' L1s learn of it through
// Redis pub/sub when Config.Redis is set.
//
// Events apply to the object's key without expansions; expanded variants live out their
// TTL. With Config.Fields the stored object is projected, as a fetched one is.
func (c *Cache) Apply(ctx context.Context, ev *stripe.Event) error {
	if ev == nil || ev.Data == nil {
		return fmt.Errorf("cachecore: apply: event has no data")
	}
	object, action := objectOfEvent(string(ev.Type))
	if object == "" {
		c.stats.eventsIgnored.Add(1)
		return nil
	}
	id, _ := ev.Data.Object["id"].(string)
	ref := Ref{Object: object, ID: id}
	if err := ref.Validate(); err != nil {
		return fmt.Errorf("cachecore: apply %s %s: %w", ev.Type, ev.ID, err)
	}
	key := ref.Key()
	version := eventVersion(ev)
	now := c.cfg.Now()

	var e Entry
	switch {
	case action == "deleted" && c.cfg.NegativeTTL > 0:
		e = Entry{Version: version, FetchedAt: now, Negative: true}
	case action == "deleted" || c.cfg.EventMode == EventModeInvalidate:
		e = Entry{Version: version, FetchedAt: now, Tombstone: true}
	default:
		raw := ev.Data.Raw
		if len(raw) == 0 {
			b, err := json.Marshal(ev.Data.Object)
			if err != nil {
				return fmt.Errorf("cachecore: apply %s %s: %w", ev.Type, ev.ID, err)
			}
			raw = b
		}
		if c.proj != nil {
			p, err := c.proj.Apply(raw)
			if err != nil {
				return fmt.Errorf("cachecore: apply %s %s: %w", ev.Type, ev.ID, err)
			}
			raw = p
		}
		e = Entry{Value: raw, Version: version, FetchedAt: now}
	}

	stored := c.put(ctx, key, e, now)
	if stored {
		c.stats.eventsApplied.Add(1)
	} else {
		c.stats.eventsStale.Add(1)
	}
	c.publish(ctx, key, version)
	return nil
}

// put writes an entry that did not come from a read (an event) to every tier, and reports
// whether any tier took it.
func (c *Cache) put(ctx context.Context, key string, e Entry, now time.Time) bool {
	stored := false
	write := func(ttl time.Duration, jitter float64) Entry {
		if e.Tombstone {
			t := e
			t.ExpiresAt = now.Add(c.cfg.TombstoneTTL)
			return t
		}
		return c.lifetime(e, now, ttl, jitter, Entry{})
	}
	if c.l3 != nil {
		stored = c.l3.set(ctx, key, write(c.cfg.L3TTL, c.cfg.TTLJitter)) || stored
	}
	if c.l2 != nil {
		stored = c.l2.set(ctx, key, write(c.cfg.L2TTL, c.cfg.TTLJitter)) || stored
	}
	if c.l1 != nil {
		stored = c.l1.SetIfNewer(key, write(c.l1TTL(), 0), now) || stored
	}
	return stored
}

// publish tells other instances that key changed at version.
//
// It uses classic PUBLISH, not sharded SPUBLISH, on every topology: on a Redis Cluster a
// PUBLISH is carried by the cluster bus to every node, so each instance receives it
// whichever node its subscription landed on, and the one channel needs no slot. SPUBLISH
// would keep the message on the channel's shard, saving the bus that fan-out; but
// invalidations are one message per change, not per read, so the fan-out costs little, and
// one code path serves standalone, replicated and cluster alike.
func (c *Cache) publish(ctx context.Context, key string, version int64) {
	if c.cfg.Redis == nil {
		return
	}
	msg := "v1 " + c.cfg.InstanceID + " " + strconv.FormatInt(version, 10) + " " + key
	pctx, cancel := context.WithTimeout(ctx, c.cfg.L2Timeout)
	defer cancel()
	if err := c.cfg.Redis.Publish(pctx, c.cfg.InvalidationChannel, msg).Err(); err == nil {
		c.stats.invalidationsSent.Add(1)
	}
}

// subscribe listens for other instances' invalidations and drops older L1 entries.
func (c *Cache) subscribe() error {
	ctx, cancel := context.WithTimeout(c.bgCtx, 5*time.Second)
	defer cancel()
	ps := c.cfg.Redis.Subscribe(ctx, c.cfg.InvalidationChannel)
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return fmt.Errorf("cachecore: subscribe to %s: %w", c.cfg.InvalidationChannel, err)
	}
	c.pubsub = ps
	ch := ps.Channel()
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		for msg := range ch {
			c.receive(msg.Payload)
		}
	}()
	return nil
}

// receive handles one pub/sub message: "v1 INSTANCE VERSION KEY".
func (c *Cache) receive(payload string) {
	parts := strings.SplitN(payload, " ", 4)
	if len(parts) != 4 || parts[0] != "v1" || parts[1] == c.cfg.InstanceID {
		return
	}
	version, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return
	}
	// Counted once applied, so a reader who sees the count also sees the tombstone.
	defer c.stats.invalidationsReceived.Add(1)
	if c.l1 == nil {
		return
	}
	now := c.cfg.Now()
	// A tombstone at the event's version: an older L1 entry is replaced, a newer one stays.
	c.l1.SetIfNewer(parts[3], Entry{Version: version, FetchedAt: now, Tombstone: true, ExpiresAt: now.Add(c.cfg.TombstoneTTL)}, now)
}
