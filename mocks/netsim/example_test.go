package netsim_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/cachebench/cachebench/mocks/netsim"
)

// A Redis server reached as if it were an ElastiCache node in the same Availability Zone,
// going down for 10 seconds half a minute into the run.
func Example() {
	network := netsim.NewNetwork()
	defer network.Close()

	profile, err := netsim.Lookup(netsim.ProfileAWSSameAZ)
	if err != nil {
		log.Fatal(err)
	}
	redis, err := network.Proxy("redis", "127.0.0.1:6379", profile)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("point the Redis client at", redis.Addr())

	tl, err := netsim.RunTimeline(context.Background(), time.Now(), []netsim.Scheduled{
		{At: 30 * time.Second, For: 10 * time.Second, Target: "redis", Fault: netsim.Fault{Kind: netsim.KindDown}},
	}, map[string]netsim.Injector{"redis": redis})
	if err != nil {
		log.Fatal(err)
	}
	// ... run the benchmark, then:
	tl.Stop()
	for _, w := range tl.Windows() {
		fmt.Println(w.Target, w.Kind, w.Start, w.End, w.Err)
	}
}
