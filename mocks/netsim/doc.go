// Package netsim puts a realistic network between the benchmark and each service it
// talks to, and breaks that network on a schedule.
//
// It owns three things. Network profiles (Profile, Lookup, Custom) give the round-trip
// latency, jitter and bandwidth of a deployment such as a Lambda function next to
// ElastiCache in the same Availability Zone, DynamoDB in-region or the Stripe API over the
// internet, each figure with its public source. A Proxy, built on Toxiproxy used as a
// library, listens on 127.0.0.1 in front of one service, applies a profile to every
// connection with microsecond precision and injects network faults (down, pause,
// latency, reset, bandwidth); a Network holds several proxies. A fault timeline
// (RunTimeline) injects scheduled faults into proxies, or into any other Injector such as
// the Stripe overlay, and records when each fault was really in force so reports can
// shade it.
//
//	nw := netsim.NewNetwork()
//	defer nw.Close()
//	p, _ := netsim.Lookup("aws-same-az")
//	redis, err := nw.Proxy("redis", "127.0.0.1:6379", p)
//	if err != nil { ... }
//	// point the Redis client at redis.Addr()
//	tl, err := netsim.RunTimeline(ctx, time.Now(), []netsim.Scheduled{
//		{At: 30 * time.Second, For: 10 * time.Second, Target: "redis", Fault: netsim.Fault{Kind: netsim.KindDown}},
//	}, map[string]netsim.Injector{"redis": redis})
//	...
//	windows := tl.Wait() // when each fault started and ended
package netsim
