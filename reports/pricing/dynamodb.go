package pricing

// DynamoBill is what DynamoDB on-demand usage costs, in US dollars.
type DynamoBill struct {
	ReadUSD    float64
	WriteUSD   float64
	StorageUSD float64
	TotalUSD   float64
}

// DynamoCost returns the on-demand cost of readUnits read request units, writeUnits write
// request units, and storageGB gigabytes stored for months months (Standard table class).
// The free tier's 25 GB of storage is stated in the table, never applied.
//
// The units are those cachecore records from DynamoDB's ConsumedCapacity (ReturnConsumed-
// Capacity TOTAL). On an on-demand table DynamoDB reports consumption in the units it
// bills, so they convert one to one: a strongly consistent read of up to 4 KB is 1 read
// request unit, an eventually consistent one (cachecore's default) 0.5, a transactional
// one 2, and larger items take more in 4 KB steps; a standard write of up to 1 KB is 1
// write request unit, a transactional one 2, larger items more in 1 KB steps.
func DynamoCost(t *Table, readUnits, writeUnits, storageGB, months float64) DynamoBill {
	p := t.DynamoDB.OnDemand
	var b DynamoBill
	b.ReadUSD = readUnits * p.ReadRequestUnits.Value / 1e6
	b.WriteUSD = writeUnits * p.WriteRequestUnits.Value / 1e6
	b.StorageUSD = storageGB * months * p.Storage.Value
	b.TotalUSD = b.ReadUSD + b.WriteUSD + b.StorageUSD
	return b
}
