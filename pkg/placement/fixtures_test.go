package placement

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/yaml"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
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

// readDocs decodes every YAML document of a file into a new T.
func readDocs[T any](t *testing.T, path string) []T {
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

// readClusters turns the KubeFedClusters of a fixture into placement clusters.
func readClusters(t *testing.T, path string) []Cluster {
	t.Helper()
	var out []Cluster
	for _, kfc := range readDocs[corev1beta1.KubeFedCluster](t, path) {
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
	dir := fixturesDir(t)
	var fedNS *typesv1beta1.Placement
	var objects []object
	for _, f := range []string{"01-federatednamespace.yaml", "02-federateddeployment-overrides.yaml", "03-replicaschedulingpreferences.yaml"} {
		for _, o := range readDocs[object](t, filepath.Join(dir, "seed", "manifests", f)) {
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
