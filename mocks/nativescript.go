package mocks

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
)

// SetIfNewerScript is the source of cachecore's L2 write script (RedisTier's guarded SET),
// as cachecore sends it. The virtual clock's miniredis runs it in Go (nativeScripts);
// TestNativeSetIfNewerIsCachecores checks that cachecore's own script has this SHA1, so a
// change to either shows.
const SetIfNewerScript = `
local cur = redis.call('GET', KEYS[1])
local new = ARGV[1]
if cur and string.len(cur) >= 34 and string.byte(cur, 1) == 1 then
  local a = string.sub(cur, 3, 10)
  local b = string.sub(new, 3, 10)
  if a ~= b then
    for i = 1, 8 do
      local x, y = string.byte(a, i), string.byte(b, i)
      if x ~= y then
        if y < x then return 0 end
        break
      end
    end
  end
end
local px = tonumber(ARGV[2])
if px > 0 then
  redis.call('SET', KEYS[1], new, 'PX', px)
else
  redis.call('SET', KEYS[1], new)
end
return 1
`

// nativeScripts answers EVALSHA and EVAL of SetIfNewerScript in Go, on the virtual
// clock's miniredis. miniredis builds a whole Lua interpreter for every script call
// (about 120 µs), which made cachecore's L2 writes a seventh of a simulated day's wall
// time; the same steps in Go take a microsecond.
//
// It answers only the calls whose answer it knows is the script's: one key, a new value
// of at least 10 bytes, an integer expiry, a key absent or holding a string, and only
// once the script is in miniredis's script cache (seen loaded by EVAL or SCRIPT LOAD on
// some connection, and not flushed since), so an EVALSHA before that still gets
// miniredis's NOSCRIPT. Everything else (another script, odd arguments, the errors Lua
// would raise) goes to miniredis's Lua unchanged. The GET and the SET are two steps
// under miniredis's lock, not one: the virtual clock's runner sends one command at a
// time, so nothing runs between them; a server with concurrent writers to one key must
// not use it. TestNativeSetIfNewerMatchesLua runs both over the same calls.
type nativeScripts struct {
	mr  *miniredis.Miniredis
	sha string

	loaded atomic.Bool
	calls  atomic.Int64 // answered natively
}

// installNativeScripts sets ns as mr's pre-command hook.
func installNativeScripts(mr *miniredis.Miniredis) *nativeScripts {
	sum := sha1.Sum([]byte(SetIfNewerScript))
	ns := &nativeScripts{mr: mr, sha: hex.EncodeToString(sum[:])}
	mr.Server().SetPreHook(ns.hook)
	return ns
}

// hook is miniredis's pre-command hook: true when it answered the command.
func (ns *nativeScripts) hook(c *server.Peer, cmd string, args ...string) bool {
	switch cmd {
	case "EVALSHA":
		if len(args) > 0 && ns.isScript(args[0]) {
			return ns.reply(c, args[1:])
		}
	case "EVAL":
		if len(args) > 0 && args[0] == SetIfNewerScript {
			// EVAL loads the script into the cache as it runs it.
			answered := ns.reply(c, args[1:])
			ns.loaded.Store(true)
			return answered
		}
	case "SCRIPT":
		if len(args) > 0 {
			switch strings.ToUpper(args[0]) {
			case "LOAD":
				if len(args) == 2 && args[1] == SetIfNewerScript {
					ns.loaded.Store(true)
				}
			case "FLUSH":
				ns.loaded.Store(false)
			}
		}
	}
	return false
}

// isScript reports whether sha names the script and it is loaded: an EVALSHA of it that
// setIfNewer answers is answered as Redis would.
func (ns *nativeScripts) isScript(sha string) bool {
	return strings.EqualFold(sha, ns.sha) && ns.loaded.Load()
}

// reply answers a call of the script with args (numkeys, KEYS, ARGV) on c, or returns
// false, having written nothing, when setIfNewer does not answer it.
func (ns *nativeScripts) reply(c *server.Peer, args []string) bool {
	n, ok := ns.setIfNewer(args)
	if ok {
		c.WriteInt(int(n))
	}
	return ok
}

// setIfNewer runs SetIfNewerScript with args (numkeys, KEYS, ARGV) and returns its reply,
// or false, having changed nothing, when the call is not one it answers.
func (ns *nativeScripts) setIfNewer(args []string) (int64, bool) {
	if len(args) != 4 || args[0] != "1" || len(args[2]) < 10 {
		return 0, false
	}
	key, val := args[1], args[2]
	px, err := strconv.ParseInt(args[3], 10, 64)
	if err != nil {
		return 0, false
	}
	cur, err := ns.mr.Get(key)
	switch {
	case errors.Is(err, miniredis.ErrKeyNotFound):
	case err != nil:
		return 0, false // not a string: Lua's GET raises WRONGTYPE
	case len(cur) >= 34 && cur[0] == 1 && val[2:10] < cur[2:10]:
		ns.calls.Add(1)
		return 0, true
	}
	if err := ns.mr.Set(key, val); err != nil {
		return 0, false
	}
	if px > 0 {
		ns.mr.SetTTL(key, time.Duration(px)*time.Millisecond)
	}
	ns.calls.Add(1)
	return 1, true
}

// answered returns how many calls ns answered in Go.
func (ns *nativeScripts) answered() int64 { return ns.calls.Load() }
