package mocks

// RedisPasswordForTest returns the password the cache's Redis client uses, for tests that
// build a URL with it or check it is never shown.
func RedisPasswordForTest(e *Env) string { return e.redisOptions.Password }
