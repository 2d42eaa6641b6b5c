package planner

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	"github.com/fedplane/fedplane/internal/testfixtures"
)

// TestPlanSeedFixtures plans every ReplicaSchedulingPreference of the seed manifests on local
// and cce and compares with seed/expected/03-rsp.yaml.
func TestPlanSeedFixtures(t *testing.T) {
	dir := testfixtures.Dir(t)
	expected := testfixtures.ReadYAML[map[string]map[string]int64](t, filepath.Join(dir, "seed", "expected", "03-rsp.yaml"))
	if len(expected) != 1 {
		t.Fatalf("got %d documents in the expected file, want 1", len(expected))
	}
	var planned []string
	for _, rsp := range testfixtures.ReadYAML[schedulingv1alpha1.ReplicaSchedulingPreference](t, filepath.Join(dir, "seed", "manifests", "03-replicaschedulingpreferences.yaml")) {
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
