package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/bench"
)

// The environment variables a batch system sets for the copies of one job: the index of
// this copy (Kubernetes Indexed Jobs set JOB_COMPLETION_INDEX, AWS Batch array jobs
// AWS_BATCH_JOB_ARRAY_INDEX), and the number of copies, which the job's definition sets.
const (
	envJobIndex   = "JOB_COMPLETION_INDEX"
	envBatchIndex = "AWS_BATCH_JOB_ARRAY_INDEX"
	envShards     = "CACHEBENCH_SHARDS"
)

// maxShards bounds a shard count: far more copies than any fleet of load generators.
const maxShards = 100000

// parseShard parses "I/N": shard I (0 to N-1) of N.
func parseShard(v string) (bench.Shard, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(v), "/")
	if !ok {
		return bench.Shard{}, fmt.Errorf("--shard %q: give the shard as INDEX/COUNT, e.g. --shard 0/4 for the first of 4", v)
	}
	count, err := parseCount(n)
	if err != nil {
		return bench.Shard{}, fmt.Errorf("--shard %q: %v", v, err)
	}
	index, err := parseIndex(i, count)
	if err != nil {
		return bench.Shard{}, fmt.Errorf("--shard %q: %v", v, err)
	}
	return bench.Shard{Index: index, Count: count}, nil
}

// parseCount parses a shard count, 1 to maxShards.
func parseCount(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > maxShards {
		return 0, fmt.Errorf("the count %q must be a whole number from 1 to %d", v, maxShards)
	}
	return n, nil
}

// parseIndex parses a shard index, 0 to count-1.
func parseIndex(v string, count int) (int, error) {
	i, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || i < 0 || i >= count {
		return 0, fmt.Errorf("the index %q must be a whole number from 0 to %d (the count less one)", v, count-1)
	}
	return i, nil
}

// resolveShard returns the shard of this process: --shard when given (flag is its value,
// set whether it was), else JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX with
// CACHEBENCH_SHARDS, else the zero Shard (the whole run).
func resolveShard(flag string, set bool, getenv func(string) string) (bench.Shard, error) {
	if set {
		return parseShard(flag)
	}
	idxVar, idx := envJobIndex, getenv(envJobIndex)
	if idx == "" {
		idxVar, idx = envBatchIndex, getenv(envBatchIndex)
	}
	count := getenv(envShards)
	switch {
	case idx == "" && count == "":
		return bench.Shard{}, nil
	case idx == "":
		return bench.Shard{}, fmt.Errorf("%s=%s but no shard index: set %s (an Indexed Job does) or %s (an array job does), or give --shard INDEX/%s", envShards, count, envJobIndex, envBatchIndex, count)
	case count == "":
		return bench.Shard{}, fmt.Errorf("%s=%s but %s is not set: set %s to the number of shards (the job's completions or array size), or give --shard %s/COUNT", idxVar, idx, envShards, envShards, idx)
	}
	n, err := parseCount(count)
	if err != nil {
		return bench.Shard{}, fmt.Errorf("%s: %v", envShards, err)
	}
	i, err := parseIndex(idx, n)
	if err != nil {
		return bench.Shard{}, fmt.Errorf("%s (with %s=%d): %v", idxVar, envShards, n, err)
	}
	return bench.Shard{Index: i, Count: n}, nil
}

// Start-at bounds: how far ahead the first shard to arrive sets a shared start (the
// others' setup must end before it), how far ahead any start may be, and how long a
// shard waits for the shared start to be written.
const (
	startLead     = 10 * time.Second
	maxStartAhead = time.Hour
)

// startAtKind is what a --start-at value names.
type startAtKind int

const (
	startAtTime  startAtKind = iota // an RFC 3339 time
	startAtFile                     // file:PATH
	startAtRedis                    // redis:KEY
)

// startAtSpec is a parsed --start-at.
type startAtSpec struct {
	kind startAtKind
	at   time.Time // startAtTime
	ref  string    // the path or key
}

// parseStartAt parses --start-at: an RFC 3339 time, file:PATH or redis:KEY.
func parseStartAt(v string) (startAtSpec, error) {
	switch {
	case strings.HasPrefix(v, "file:"):
		p := strings.TrimPrefix(v, "file:")
		if p == "" {
			return startAtSpec{}, errors.New("--start-at file: needs a path, e.g. --start-at file:/shared/start-at")
		}
		return startAtSpec{kind: startAtFile, ref: p}, nil
	case strings.HasPrefix(v, "redis:"):
		k := strings.TrimPrefix(v, "redis:")
		if k == "" {
			return startAtSpec{}, errors.New("--start-at redis: needs a key, e.g. --start-at redis:cachebench:start:run42")
		}
		return startAtSpec{kind: startAtRedis, ref: k}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil {
		return startAtSpec{}, fmt.Errorf("--start-at %q: give an RFC 3339 time (e.g. %s), file:PATH or redis:KEY", v, time.Now().Add(time.Minute).UTC().Format(time.RFC3339))
	}
	return startAtSpec{kind: startAtTime, at: t}, nil
}

// checkStartAt refuses a start too far in the past (by more than bench.StartAtTolerance)
// or the future (maxStartAhead); from names where it came from.
func checkStartAt(at, now time.Time, from string) error {
	switch {
	case now.Sub(at) > bench.StartAtTolerance:
		return fmt.Errorf("--start-at %s (%s) is %s in the past: give a time a little ahead (each shard's setup must end before it), or remove the stale file or key so the first shard sets a new one", at.Format(time.RFC3339Nano), from, now.Sub(at).Round(time.Second))
	case at.Sub(now) > maxStartAhead:
		return fmt.Errorf("--start-at %s (%s) is %s ahead, more than the %s a shard waits: give a nearer time", at.Format(time.RFC3339Nano), from, at.Sub(now).Round(time.Second), maxStartAhead)
	}
	return nil
}

// startAtFromFile returns the time in the file at path, writing now+startLead there
// first when there is none: the first shard to get here sets the start, atomically (the
// file is written in full under another name, then linked into place, which fails when
// another shard's is there already), and the others read it.
func startAtFromFile(path string, now time.Time) (time.Time, error) {
	// A file already there is read as it is, without writing beside it: it may be on a
	// read-only volume (a Kubernetes ConfigMap that holds the start time).
	if _, err := os.Stat(path); err == nil {
		return readStartAt(path)
	}
	mine := now.Add(startLead).UTC().Format(time.RFC3339Nano)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".start-at-*")
	if err != nil {
		return time.Time{}, fmt.Errorf("--start-at file:%s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(mine + "\n")
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return time.Time{}, fmt.Errorf("--start-at file:%s: %w", path, werr)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return time.Time{}, fmt.Errorf("--start-at file:%s: %w", path, err)
	}
	return readStartAt(path)
}

// readStartAt reads the RFC 3339 time a --start-at file holds.
func readStartAt(path string) (time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start-at file:%s: %w", path, err)
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	if err != nil {
		return time.Time{}, fmt.Errorf("--start-at file:%s holds %q, not an RFC 3339 time: remove it so the first shard writes a new one", path, strings.TrimSpace(string(b)))
	}
	return t, nil
}

// startAtFromRedis is startAtFromFile with a key on the shared Redis: SET NX with an
// hour's expiry, then GET.
func startAtFromRedis(ctx context.Context, rdb redis.UniversalClient, key string, now time.Time) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	mine := now.Add(startLead).UTC().Format(time.RFC3339Nano)
	if err := rdb.SetNX(ctx, key, mine, maxStartAhead).Err(); err != nil {
		return time.Time{}, fmt.Errorf("--start-at redis:%s: %w", key, err)
	}
	v, err := rdb.Get(ctx, key).Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("--start-at redis:%s: %w", key, err)
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, fmt.Errorf("--start-at redis:%s holds %q, not an RFC 3339 time: delete the key so the first shard sets a new one", key, v)
	}
	return t, nil
}

// runID names a sharded run's data on the shared services, the same in every shard: a
// digest of what they share (scenario, seed, shard count and start).
func runID(name string, seed int64, count int, start time.Time) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d\x00%d", name, seed, count, start.UnixNano())))
	return "s" + hex.EncodeToString(h[:5])
}
