package scenarios_test

import (
	"fmt"

	"github.com/cachebench/cachebench/scenarios"
)

func ExampleLoad() {
	s, err := scenarios.Load("lambda-memory-sweep", []string{"arrival.rate=100"})
	if err != nil {
		fmt.Println(err)
		return
	}
	points, err := scenarios.Expand(s)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range points[:3] {
		fmt.Println(p.Name, p.Point, p.Arrival.Rate)
	}
	// Output:
	// lambda-memory-sweep lambda.memory_mb=128 100
	// lambda-memory-sweep lambda.memory_mb=256 100
	// lambda-memory-sweep lambda.memory_mb=512 100
}

func ExampleParse() {
	_, err := scenarios.Parse([]byte("name: demo\nduration: 10 sec\ncache:\n  l1: {ttl: 5s, polcy: lru}\n"), "demo.yaml")
	fmt.Println(err)
	// Output:
	// demo.yaml:2:11: duration: "10 sec" is not a duration (hint: write 10s)
	// demo.yaml:4:17: unknown key "polcy" in cache.l1 (hint: did you mean policy?)
}

func ExampleParseThreshold() {
	t, _ := scenarios.ParseThreshold("p99 < 50ms")
	fmt.Println(t.Metric, t.Op, t.Value, t.Unit, t.Pass(0.042))
	// Output: p99 < 0.05 s true
}

func ExampleNetworkFor() {
	n := scenarios.NetworkFor(scenarios.ProfileAWSSameAZ)
	fmt.Println(n.Redis.Profile, n.DynamoDB.Profile, n.Stripe.Profile)
	// Output: aws-same-az aws-dynamodb stripe-internet
}
