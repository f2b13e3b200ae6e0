package mocks

import "github.com/redis/go-redis/v9"

// RedisPasswordForTest returns the password the cache's Redis client uses, for tests that
// build a URL with it or check it is never shown.
func RedisPasswordForTest(e *Env) string { return e.redisOptions.Password }

// AdminNodeOptionsForTest returns the options of a client for one node as the default
// user, speaking its TLS.
func AdminNodeOptionsForTest(e *Env, addr string) *redis.Options {
	return e.redisSecrets.adminOptions(addr)
}

// NativeScriptCallsForTest returns how many write-script calls an embedded environment on
// the virtual clock answered in Go (0 for any other environment).
func NativeScriptCallsForTest(e *Env) int64 {
	if e.virtual == nil || e.virtual.scripts == nil {
		return 0
	}
	return e.virtual.scripts.answered()
}
