// Package deploy_test checks the deployment pieces: the container image built from the
// repository's Dockerfile.
package deploy_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/mocks/mockstest"
)

// TestImage builds the image with scripts/build-image.sh (what CI uses), runs `list` in it
// and checks that it names the built-in scenarios and runs as a non-root user.
func TestImage(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil || exec.Command("docker", "info").Run() != nil {
		if mockstest.Required() {
			t.Fatalf("docker is not available (run scripts/provision.sh): %v", err)
		}
		t.Skip("docker is not available (set CI=true to make this a failure)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	image := "cachebench:test"
	build := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "build-image.sh"))
	build.Env = append(build.Environ(), "CACHEBENCH_IMAGE="+image)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build-image.sh: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", image, "list").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run %s list: %v\n%s", image, err, out)
	}
	for _, name := range []string{"baseline", "redis-outage", "trace-replay"} {
		if !strings.Contains(string(out), name) {
			t.Errorf("`cachebench list` in the image does not name scenario %q:\n%s", name, out)
		}
	}
	user, err := exec.CommandContext(ctx, "docker", "image", "inspect", "-f", "{{.Config.User}}", image).Output()
	if err != nil {
		t.Fatalf("docker image inspect: %v", err)
	}
	uid, _, _ := strings.Cut(strings.TrimSpace(string(user)), ":")
	if uid == "" || uid == "0" || uid == "root" {
		t.Errorf("image runs as user %q, want a numeric non-root user", user)
	}
}
