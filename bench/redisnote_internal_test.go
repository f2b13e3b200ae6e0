package bench

import (
	"strings"
	"testing"

	"github.com/cachebench/cachebench/mocks"
)

// TestInsecureRedisNote: an external Redis off this machine gets a note for each of TLS
// and AUTH it lacks; one on loopback, or one with both, gets none.
func TestInsecureRedisNote(t *testing.T) {
	ep := func(addr string, tls bool, auth string) *mocks.Env {
		return &mocks.Env{Provider: mocks.ProviderExternal, Redis: mocks.RedisEndpoint{
			Addrs: []string{addr}, URL: "redis://" + addr, Backend: "redis 7", TLS: tls, Auth: auth}}
	}
	for _, tc := range []struct {
		env  *mocks.Env
		want []string // substrings; none means no note
	}{
		{ep("10.0.0.5:6379", false, mocks.AuthNone), []string{"without TLS", "without AUTH", "10.0.0.5"}},
		{ep("cache.example.internal:6379", true, mocks.AuthNone), []string{"without AUTH"}},
		{ep("10.0.0.5:6379", false, mocks.AuthACL), []string{"without TLS"}},
		{ep("10.0.0.5:6379", true, mocks.AuthPassword), nil},
		{ep("127.0.0.1:6379", false, mocks.AuthNone), nil},
		{&mocks.Env{Provider: mocks.ProviderLocal, Redis: mocks.RedisEndpoint{Addrs: []string{"127.0.0.1:1"}, Backend: "redis"}}, nil},
	} {
		got := insecureRedisNote(tc.env)
		if (got == "") != (tc.want == nil) {
			t.Errorf("%s (TLS %v, auth %s): note %q, want one: %v", tc.env.Redis.Addrs[0], tc.env.Redis.TLS, tc.env.Redis.Auth, got, tc.want != nil)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("note %q lacks %q", got, w)
			}
		}
	}
}
