package placement

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/internal/testfixtures"
)

// object is the part of a manifest that these tests read.
type object struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Placement typesv1beta1.Placement `json:"placement"`
	} `json:"spec"`
}

// readClusters turns the KubeFedClusters of a fixture into placement clusters.
func readClusters(t *testing.T, path string) []Cluster {
	t.Helper()
	var out []Cluster
	for _, kfc := range testfixtures.ReadYAML[corev1beta1.KubeFedCluster](t, path) {
		c := Cluster{Name: kfc.Name, Labels: kfc.Labels}
		for _, cond := range kfc.Status.Conditions {
			if cond.Type == corev1beta1.ClusterReady && cond.Status == "True" {
				c.Ready = true
			}
		}
		out = append(out, c)
	}
	return out
}

// TestResolveSeedFixtures places every federated object of the seed manifests on the seed
// clusters, with both clusters ready and with cce down.
func TestResolveSeedFixtures(t *testing.T) {
	dir := testfixtures.Dir(t)
	var fedNS *typesv1beta1.Placement
	var objects []object
	for _, f := range []string{"01-federatednamespace.yaml", "02-federateddeployment-overrides.yaml", "03-replicaschedulingpreferences.yaml"} {
		for _, o := range testfixtures.ReadYAML[object](t, filepath.Join(dir, "seed", "manifests", f)) {
			switch o.Kind {
			case "FederatedNamespace":
				p := o.Spec.Placement
				fedNS = &p
			case "FederatedDeployment":
				objects = append(objects, o)
			}
		}
	}
	if fedNS == nil || len(objects) != 5 {
		t.Fatalf("seed manifests: got FederatedNamespace %v and %d FederatedDeployments, want one and 5", fedNS, len(objects))
	}

	cases := []struct {
		name         string
		clustersFile string
		want         Result
	}{
		{
			name:         "both clusters ready",
			clustersFile: "ready.yaml",
			want: Result{
				Selected:  []string{"cce", "local"},
				Writable:  []string{"cce", "local"},
				Decisions: []Decision{selected("cce", true), selected("local", true)},
			},
		},
		{
			name:         "cce down stays selected but is not written to",
			clustersFile: "cce-down.yaml",
			want: Result{
				Selected:  []string{"cce", "local"},
				Writable:  []string{"local"},
				Decisions: []Decision{selected("cce", false), selected("local", true)},
			},
		},
	}
	for _, tc := range cases {
		clusters := readClusters(t, filepath.Join(dir, "seed", "clusters", tc.clustersFile))
		t.Run(tc.name+"/FederatedNamespace", func(t *testing.T) {
			got, err := Resolve(Input{Placement: *fedNS, Namespaced: true, IsFederatedNamespace: true, Clusters: clusters})
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Resolve() mismatch (-want +got):\n%s", diff)
			}
		})
		for _, o := range objects {
			t.Run(tc.name+"/"+o.Metadata.Name, func(t *testing.T) {
				got, err := Resolve(Input{Placement: o.Spec.Placement, Namespaced: true, NamespacePlacement: fedNS, Clusters: clusters})
				if err != nil {
					t.Fatalf("Resolve() error = %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Resolve() mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}
