package mocks

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// directRedis is the virtual clock's go-redis hook on the clients of its embedded Redis:
// it answers the two commands that make nearly all of a simulated run's Redis traffic,
// GET and an EVALSHA of cachecore's write script (nativeScripts), from miniredis's store
// in the caller's goroutine. Over the in-process pipe each of them cost two goroutine
// hand-offs and a RESP encoding and parse on each side, over a quarter of a simulated
// day's CPU time; answered here, a map look-up under miniredis's lock.
//
// It answers only what miniredis would answer the same way on a plain connection of
// database 0 without AUTH (the only clients it is installed on, see Env.newRedisClient):
// a GET of a string key or of a missing one, and an EVALSHA the pre-command hook would
// answer. Everything else goes through the pipe unchanged: other commands, pipelines and
// transactions, a GET of a key of another type (miniredis's WRONGTYPE), an EVALSHA
// before the script is loaded (NOSCRIPT), and arguments of a type it does not convert as
// go-redis's writer does. TestDirectRedisMatchesPipe holds it to the pipe's answers.
type directRedis struct {
	mr *miniredis.Miniredis
	ns *nativeScripts
	// gets and scripts count the GETs and EVALSHAs answered here.
	gets, scripts atomic.Int64
}

func (d *directRedis) DialHook(next redis.DialHook) redis.DialHook { return next }

func (d *directRedis) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (d *directRedis) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if d.answer(cmd) {
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}

// answer answers cmd and returns true, or returns false having done nothing.
func (d *directRedis) answer(cmd redis.Cmder) bool {
	args := cmd.Args()
	if len(args) == 0 {
		return false
	}
	name, ok := args[0].(string)
	if !ok {
		return false
	}
	switch {
	case len(args) == 2 && (name == "get" || name == "GET"):
		c, ok := cmd.(*redis.StringCmd)
		key, kok := argString(args[1])
		if !ok || !kok {
			return false
		}
		v, err := d.mr.Get(key)
		switch {
		case errors.Is(err, miniredis.ErrKeyNotFound):
			c.SetErr(redis.Nil)
		case err != nil:
			return false // WRONGTYPE, in miniredis's words
		default:
			c.SetVal(v)
		}
		d.gets.Add(1)
		return true
	case len(args) >= 2 && (name == "evalsha" || name == "EVALSHA"):
		c, ok := cmd.(*redis.Cmd)
		sha, sok := args[1].(string)
		if !ok || !sok || !d.ns.isScript(sha) {
			return false
		}
		strs := make([]string, len(args)-2)
		for i, a := range args[2:] {
			if strs[i], ok = argString(a); !ok {
				return false
			}
		}
		n, ok := d.ns.setIfNewer(strs)
		if ok {
			c.SetVal(n)
			d.scripts.Add(1)
		}
		return ok
	}
	return false
}

// argString is a command argument as go-redis's writer sends it, for the types cachecore
// sends; false for any other.
func argString(a any) (string, bool) {
	switch v := a.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	}
	return "", false
}
