package pricing

import "testing"

func TestDynamoCost(t *testing.T) {
	tab := Default()
	tests := []struct {
		name                        string
		rru, wru, gb, months        float64
		read, write, storage, total float64
	}{
		{"a million of each", 1e6, 1e6, 0, 0, 0.125, 0.625, 0, 0.75},
		// 2M eventually consistent reads of up to 4 KB consume 1M read units (0.5 each).
		{"eventually consistent reads", 2e6 * 0.5, 0, 0, 0, 0.125, 0, 0, 0.125},
		{"storage for a month", 0, 0, 10, 1, 0, 0, 2.5, 2.5},
		{"storage for a 60 s run", 0, 0, 10, 1.0 / 60 / HoursPerMonth, 0, 0, 2.5 / 60 / HoursPerMonth, 2.5 / 60 / HoursPerMonth},
		{"a run's units", 12_345.5, 678, 2, 0, 12_345.5 * 0.125e-6, 678 * 0.625e-6, 0, 12_345.5*0.125e-6 + 678*0.625e-6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := DynamoCost(tab, tc.rru, tc.wru, tc.gb, tc.months)
			if !near(b.ReadUSD, tc.read) || !near(b.WriteUSD, tc.write) || !near(b.StorageUSD, tc.storage) || !near(b.TotalUSD, tc.total) {
				t.Errorf("bill = %+v, want read %v, write %v, storage %v, total %v", b, tc.read, tc.write, tc.storage, tc.total)
			}
		})
	}
	// Before the November 2024 cut a million writes cost $1.25; now half.
	if b := DynamoCost(tab, 0, 1e6, 0, 0); !near(b.WriteUSD, 1.25/2) {
		t.Errorf("1M WRU = $%v, want $0.625", b.WriteUSD)
	}
}
