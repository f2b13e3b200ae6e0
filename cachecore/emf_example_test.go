package cachecore_test

import (
	"context"
	"fmt"
	"os"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/cachecore/emf"
)

// A Lambda function exports the cache's metrics to CloudWatch by printing them in the
// Embedded Metric Format on stdout, where CloudWatch Logs picks them up: no agent, no
// API call. cachecore only speaks the OpenTelemetry API; the function brings the SDK and
// an exporter, here package cachecore/emf's (OpenTelemetry Go has no EMF exporter of its
// own; the Collector's awsemfexporter is a Collector component). In a function, flush at the
// end of each invocation (mp.ForceFlush), since the environment may be frozen after it.
func ExampleConfig_meterProvider() {
	exporter := &emf.Exporter{
		W:         os.Stdout,
		Namespace: "cachebench",
		// Each metric is a CloudWatch custom metric, billed: export the ones you watch.
		Only: []string{"cachecore.hits", "cachecore.misses", "cachecore.origin.fetches", "cachecore.origin.calls"},
		Now:  func() time.Time { return time.UnixMilli(1767225600000) }, // fixed for the example's output
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exporter, sdkmetric.WithInterval(time.Minute))))

	l1, _ := cachecore.NewL1(cachecore.L1Config{Policy: "lru", MaxEntries: 10000, TTL: 30 * time.Second})
	origin := cachecore.OriginFunc(func(ctx context.Context, ref cachecore.Ref) ([]byte, int64, bool, error) {
		return []byte(`{"id":"` + ref.ID + `","object":"customer"}`), 1, true, nil
	})
	cache, err := cachecore.New(cachecore.Config{L1: l1, Origin: origin, MeterProvider: mp})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, id := range []string{"cus_1", "cus_1", "cus_2", "cus_1"} {
		_, _ = cache.Get(ctx, cachecore.Ref{Object: cachecore.ObjectCustomer, ID: id})
	}
	_ = mp.Shutdown(ctx) // exports what is left; a long-lived process keeps the provider
	_ = cache.Close()
	// Output:
	// {"_aws":{"CloudWatchMetrics":[{"Dimensions":[[]],"Metrics":[{"Name":"cachecore.origin.calls","Unit":"Count"},{"Name":"cachecore.origin.fetches","Unit":"Count"}],"Namespace":"cachebench"}],"Timestamp":1767225600000},"cachecore.origin.calls":2,"cachecore.origin.fetches":2}
	// {"_aws":{"CloudWatchMetrics":[{"Dimensions":[["tier"]],"Metrics":[{"Name":"cachecore.hits","Unit":"Count"},{"Name":"cachecore.misses","Unit":"Count"}],"Namespace":"cachebench"}],"Timestamp":1767225600000},"cachecore.hits":2,"cachecore.misses":2,"tier":"l1"}
}
