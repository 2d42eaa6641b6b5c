package planner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/yaml"

	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
)

// fixturesDir returns shared/fixtures beside the module root, or skips the test when the
// fixtures are not checked out next to the module.
func fixturesDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("failed to get the working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("failed to find go.mod above the test directory")
		}
		dir = parent
	}
	fixtures := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(fixtures); err != nil {
		t.Skipf("shared fixtures not found at %s: %v", fixtures, err)
	}
	return fixtures
}

// readYAML decodes every YAML document of a file into a new T.
func readYAML[T any](t *testing.T, path string) []T {
	t.Helper()
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatalf("failed to read %s: %v", path, err)
	}
	r := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []T
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("failed to read a document of %s: %v", path, err)
		}
		js, err := yaml.ToJSON(doc)
		if err != nil {
			t.Fatalf("failed to convert a document of %s: %v", path, err)
		}
		if string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		var v T
		if err := json.Unmarshal(js, &v); err != nil {
			t.Fatalf("failed to decode a document of %s: %v", path, err)
		}
		out = append(out, v)
	}
}

// TestPlanSeedFixtures plans every ReplicaSchedulingPreference of the seed manifests on local
// and cce and compares with seed/expected/03-rsp.yaml.
func TestPlanSeedFixtures(t *testing.T) {
	dir := fixturesDir(t)
	expected := readYAML[map[string]map[string]int64](t, filepath.Join(dir, "seed", "expected", "03-rsp.yaml"))
	if len(expected) != 1 {
		t.Fatalf("got %d documents in the expected file, want 1", len(expected))
	}
	var planned []string
	for _, rsp := range readYAML[schedulingv1alpha1.ReplicaSchedulingPreference](t, filepath.Join(dir, "seed", "manifests", "03-replicaschedulingpreferences.yaml")) {
		if rsp.Kind != "ReplicaSchedulingPreference" {
			continue
		}
		planned = append(planned, rsp.Name)
		t.Run(rsp.Name, func(t *testing.T) {
			want, ok := expected[0][rsp.Name]
			if !ok {
				t.Fatalf("the expected file has no entry for %s", rsp.Name)
			}
			got, err := Plan(Input{Spec: rsp.Spec, Clusters: names("local", "cce"), Key: rsp.Namespace + "/" + rsp.Name})
			if err != nil {
				t.Fatalf("Plan() error = %v", err)
			}
			if diff := cmp.Diff(want, got.Replicas); diff != "" {
				t.Errorf("Replicas mismatch (-want +got):\n%s", diff)
			}
		})
	}
	slices.Sort(planned)
	want := make([]string, 0, len(expected[0]))
	for name := range expected[0] {
		want = append(want, name)
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, planned); diff != "" {
		t.Errorf("preferences in the manifests and in the expected file differ (-want +got):\n%s", diff)
	}
}
