package emf

import (
	"encoding/json"
	"errors"
	"fmt"
)

// cloudWatchUnits are the units CloudWatch accepts (MetricDatum.Unit).
var cloudWatchUnits = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true,
	"Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true,
	"Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true,
}

// Validate decodes one document and checks it against the Embedded Metric Format
// specification: a root _aws with Timestamp (epoch milliseconds) and a CloudWatchMetrics
// array of directives, each with a Namespace of 1 to 255 characters, Dimensions (arrays of
// at most 30 keys, each a root string member) and 1 to 100 Metrics, each named by a root
// member holding a number and with a CloudWatch unit. It returns the decoded document and
// every problem found, or a nil error for a document CloudWatch would take.
func Validate(line []byte) (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal(line, &doc); err != nil {
		return nil, fmt.Errorf("emf: not a JSON object: %w", err)
	}
	aws, ok := doc["_aws"].(map[string]any)
	if !ok {
		return doc, errors.New("emf: no _aws object at the root")
	}
	var errs []error
	if ts, ok := aws["Timestamp"].(float64); !ok || ts < 0 || ts != float64(int64(ts)) {
		errs = append(errs, fmt.Errorf("emf: _aws.Timestamp is %v, want epoch milliseconds", aws["Timestamp"]))
	}
	dirs, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(dirs) == 0 {
		return doc, errors.Join(append(errs, errors.New("emf: _aws.CloudWatchMetrics is not a non-empty array"))...)
	}
	for i, d := range dirs {
		dir, ok := d.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("emf: directive %d is not an object", i))
			continue
		}
		if ns, ok := dir["Namespace"].(string); !ok || ns == "" || len(ns) > 255 {
			errs = append(errs, fmt.Errorf("emf: directive %d: Namespace %v, want a string of 1 to 255 characters", i, dir["Namespace"]))
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok {
			errs = append(errs, fmt.Errorf("emf: directive %d: Dimensions is not an array", i))
		}
		for _, s := range sets {
			keys, ok := s.([]any)
			if !ok || len(keys) > 30 {
				errs = append(errs, fmt.Errorf("emf: directive %d: dimension set %v is not an array of at most 30 keys", i, s))
				continue
			}
			for _, k := range keys {
				name, _ := k.(string)
				if _, ok := doc[name].(string); !ok {
					errs = append(errs, fmt.Errorf("emf: directive %d: dimension %v has no string member at the root", i, k))
				}
			}
		}
		ms, ok := dir["Metrics"].([]any)
		if !ok || len(ms) == 0 || len(ms) > 100 {
			errs = append(errs, fmt.Errorf("emf: directive %d: Metrics is not an array of 1 to 100 definitions", i))
		}
		for _, m := range ms {
			def, _ := m.(map[string]any)
			name, _ := def["Name"].(string)
			if name == "" || len(name) > 1024 {
				errs = append(errs, fmt.Errorf("emf: directive %d: metric name %v, want a string of 1 to 1024 characters", i, def["Name"]))
				continue
			}
			if _, ok := doc[name].(float64); !ok {
				errs = append(errs, fmt.Errorf("emf: metric %s has no number at the root", name))
			}
			if u, ok := def["Unit"]; ok {
				if s, _ := u.(string); !cloudWatchUnits[s] {
					errs = append(errs, fmt.Errorf("emf: metric %s: unit %v is not a CloudWatch unit", name, u))
				}
			}
		}
	}
	return doc, errors.Join(errs...)
}
