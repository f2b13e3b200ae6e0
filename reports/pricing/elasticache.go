package pricing

import (
	"fmt"
	"math"
)

// Engine is an ElastiCache engine, named as in the pricing file.
type Engine string

// The engines priced. Valkey's node prices are 20% below Redis OSS's, its serverless
// prices 33% below.
const (
	RedisOSS Engine = "redis_oss"
	Valkey   Engine = "valkey"
)

func (e Engine) valid() bool { return e == RedisOSS || e == Valkey }

// NodeCost returns the on-demand cost in USD of nodes ElastiCache nodes of nodeType
// running hours hours on engine. Hours are charged as given: AWS bills each node per
// node-hour and a partial node-hour as a full one, so pass math.Ceil(hours) to match one
// cluster's invoice; cachebench prorates a short run instead so its cost per request is
// comparable. It fails when t has no price for the engine and node type.
func NodeCost(t *Table, engine Engine, nodeType string, nodes int, hours float64) (float64, error) {
	if nodes < 0 || hours < 0 || math.IsNaN(hours) {
		return 0, fmt.Errorf("elasticache cost: negative usage (%d nodes, %v hours)", nodes, hours)
	}
	byType, ok := t.ElastiCache.Nodes[engine]
	if !ok {
		return 0, fmt.Errorf("elasticache cost: pricing table %s has no node prices for engine %q; add elasticache.nodes.%s to a --pricing file", t.Name, engine, engine)
	}
	p, ok := byType[nodeType]
	if !ok {
		return 0, fmt.Errorf("elasticache cost: pricing table %s has no %s price for node type %q; add elasticache.nodes.%s.%s to a --pricing file", t.Name, engine, nodeType, engine, nodeType)
	}
	return float64(nodes) * hours * p.Value, nil
}

// ServerlessBill is what an ElastiCache Serverless cache costs, in US dollars.
type ServerlessBill struct {
	// BilledGBHours is the data stored, at least the engine's minimum, times the hours.
	BilledGBHours float64
	DataStoredUSD float64
	ECPUUSD       float64
	TotalUSD      float64
}

// ServerlessCost returns the cost of an ElastiCache Serverless cache on engine that held
// dataGB gigabytes on average for hours hours and consumed ecpus ECPUs. ElastiCache meters
// the data stored as an hourly average and each cache for at least the engine's minimum
// (1 GB for Redis OSS, 100 MB for Valkey); the minimum is applied to dataGB, so pass the
// average of a period in which the data stayed on one side of it. It fails when t has no
// serverless prices for the engine.
func ServerlessCost(t *Table, engine Engine, dataGB, hours, ecpus float64) (ServerlessBill, error) {
	if dataGB < 0 || hours < 0 || ecpus < 0 || math.IsNaN(dataGB+hours+ecpus) {
		return ServerlessBill{}, fmt.Errorf("elasticache serverless cost: negative usage (%v GB, %v hours, %v ECPUs)", dataGB, hours, ecpus)
	}
	p, ok := t.ElastiCache.Serverless[engine]
	if !ok {
		return ServerlessBill{}, fmt.Errorf("elasticache serverless cost: pricing table %s has no serverless prices for engine %q; add elasticache.serverless.%s to a --pricing file", t.Name, engine, engine)
	}
	var b ServerlessBill
	b.BilledGBHours = math.Max(dataGB, p.MinimumData.Value) * hours
	b.DataStoredUSD = b.BilledGBHours * p.DataStored.Value
	b.ECPUUSD = ecpus * p.ECPU.Value / 1e6
	b.TotalUSD = b.DataStoredUSD + b.ECPUUSD
	return b, nil
}

// ECPUsPerRequest returns the ECPUs one simple read or write (GET, SET) that transfers
// bytes bytes consumes: 1 ECPU per kilobyte transferred, and a request of up to 1 KB is 1
// ECPU, so a 3.2 KB GET is 3.2 ECPUs. A kilobyte is taken as 1,024 bytes. Commands that
// take more vCPU time than a GET or SET (an HMGET of many fields, a script) consume ECPUs
// in proportion to that time when it is the larger; the model does not see those.
func ECPUsPerRequest(bytes float64) float64 {
	return math.Max(1, bytes/1024)
}

// ECPUs returns the ECPUs of requests simple reads and writes averaging avgBytesPerRequest
// bytes transferred each, by ECPUsPerRequest. It is exact when the requests are all of one
// size; when sizes vary across 1 KB it is a lower bound (a 100-byte GET is still 1 ECPU),
// so sum ECPUsPerRequest over the requests where the sizes are known.
func ECPUs(requests int64, avgBytesPerRequest float64) float64 {
	if requests <= 0 {
		return 0
	}
	return float64(requests) * ECPUsPerRequest(avgBytesPerRequest)
}
