package workload_test

import (
	"fmt"
	"time"

	"github.com/cachebench/cachebench/bench/workload"
	"github.com/cachebench/cachebench/scenarios"
)

func ExampleGenerator() {
	s := &scenarios.Scenario{
		Seed:    42,
		Arrival: scenarios.Arrival{Model: scenarios.ArrivalConstant, Rate: 4},
		Keys:    scenarios.Keys{Object: "customer", Count: 100, Distribution: scenarios.DistZipf},
		Ops:     scenarios.Ops{Get: 0.75, Update: 0.25},
	}
	g, err := workload.NewGenerator(s, time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("expected:", g.Expected())
	var r workload.Request
	for g.Next(&r) {
		fmt.Println(r.At, r.Op, r.ID)
	}
	// Output:
	// expected: 4
	// 0s update cus_cb0000000034
	// 250ms get cus_cb0000000097
	// 500ms get cus_cb0000000099
	// 750ms get cus_cb0000000049
}
