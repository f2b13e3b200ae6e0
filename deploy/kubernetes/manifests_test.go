// Package kubernetes_test decodes the Kubernetes manifests strictly with the API's own
// types, so a misspelt or misplaced field fails here rather than at kubectl apply.
package kubernetes_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// cachebenchReads lists the environment variables cachebench reads (mocks/external.go,
// the shard flags), the only ones a pod may set.
var cachebenchReads = []string{
	"CACHEBENCH_REDIS_URL", "CACHEBENCH_REDIS_CLUSTER", "CACHEBENCH_REDIS_CA_FILE",
	"CACHEBENCH_REDIS_INSECURE", "CACHEBENCH_REDIS_USERNAME", "CACHEBENCH_REDIS_PASSWORD",
	"CACHEBENCH_DYNAMODB_ENDPOINT", "CACHEBENCH_DYNAMODB_REGION",
	"CACHEBENCH_STRIPE_URL", "CACHEBENCH_STRIPE_KEY",
	"CACHEBENCH_SHARDS", "JOB_COMPLETION_INDEX",
}

// kustomization is the part of a kustomization.yaml these manifests use.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

func decode(t *testing.T, file string, into any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func TestManifestsDecodeStrictly(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var k kustomization
	decode(t, "kustomization.yaml", &k)
	for _, r := range k.Resources {
		if !slices.Contains(files, r) {
			t.Errorf("kustomization.yaml lists %s, which does not exist", r)
		}
	}
	for _, f := range files {
		var meta struct {
			Kind string `json:"kind"`
		}
		data, _ := os.ReadFile(f)
		if err := yaml.Unmarshal(data, &meta); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		switch meta.Kind {
		case "Kustomization":
		case "Job":
			var j batchv1.Job
			decode(t, f, &j)
			checkJob(t, f, &j)
		case "Secret":
			var s corev1.Secret
			decode(t, f, &s)
			for name := range s.StringData {
				if !slices.Contains(cachebenchReads, name) {
					t.Errorf("%s: key %s is not a variable cachebench reads", f, name)
				}
			}
		case "ConfigMap":
			decode(t, f, &corev1.ConfigMap{})
		case "PersistentVolumeClaim":
			var p corev1.PersistentVolumeClaim
			decode(t, f, &p)
			if !slices.Contains(p.Spec.AccessModes, corev1.ReadWriteMany) {
				t.Errorf("%s: shards and the merge share it: want ReadWriteMany, have %v", f, p.Spec.AccessModes)
			}
		default:
			t.Errorf("%s: kind %q has no check here", f, meta.Kind)
		}
	}
}

func checkJob(t *testing.T, file string, j *batchv1.Job) {
	pod := j.Spec.Template.Spec
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("%s: the pod must run as a non-root user (runAsNonRoot, runAsUser != 0)", file)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", file, len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: container %s has no cpu request or memory limit", file, c.Name)
	}
	for _, e := range c.Env {
		if !slices.Contains(cachebenchReads, e.Name) {
			t.Errorf("%s: env %s is not a variable cachebench reads", file, e.Name)
		}
	}
	args := strings.Join(c.Args, " ")
	switch {
	case len(c.Args) > 0 && c.Args[0] == "run":
		if j.Spec.CompletionMode == nil || *j.Spec.CompletionMode != batchv1.IndexedCompletion {
			t.Errorf("%s: completionMode must be Indexed", file)
		}
		if j.Spec.Completions == nil || j.Spec.Parallelism == nil || *j.Spec.Completions != *j.Spec.Parallelism {
			t.Fatalf("%s: completions and parallelism must be set and equal", file)
		}
		var shards string
		for _, e := range c.Env {
			if e.Name == "CACHEBENCH_SHARDS" {
				shards = e.Value
			}
		}
		if shards != strconv.Itoa(int(*j.Spec.Completions)) {
			t.Errorf("%s: CACHEBENCH_SHARDS=%q, want completions %d", file, shards, *j.Spec.Completions)
		}
		for _, want := range []string{"--env external", "--start-at ", "--out /results/$(JOB_COMPLETION_INDEX)"} {
			if !strings.Contains(args, want) {
				t.Errorf("%s: args %q lack %q", file, args, want)
			}
		}
		if j.Spec.BackoffLimitPerIndex == nil && j.Spec.BackoffLimit == nil {
			t.Errorf("%s: set backoffLimitPerIndex or backoffLimit", file)
		}
	case len(c.Args) > 0 && c.Args[0] == "merge":
		shards := readShards(t)
		if got := len(c.Args) - 2; got != shards {
			t.Errorf("%s: merges %d shard folders, the shards Job has %d", file, got, shards)
		}
	default:
		t.Errorf("%s: args %q are neither run nor merge", file, args)
	}
}

// readShards returns the completions of the shards Job.
func readShards(t *testing.T) int {
	var j batchv1.Job
	decode(t, "job-shards.yaml", &j)
	return int(*j.Spec.Completions)
}
