package overrides

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/internal/testfixtures"
)

// TestRenderSeedFixture renders the seed FederatedDeployment for local and cce from the shared
// manifest and checks every field that seed/expected/02-overrides.yaml lists.
func TestRenderSeedFixture(t *testing.T) {
	dir := testfixtures.Dir(t)
	feds := testfixtures.ReadYAML[typesv1beta1.FederatedObject](t, filepath.Join(dir, "seed", "manifests", "02-federateddeployment-overrides.yaml"))
	if len(feds) != 1 {
		t.Fatalf("got %d documents in the seed manifest, want 1", len(feds))
	}
	fed := feds[0]
	var template map[string]any
	if err := fed.Spec.Template.Decode(&template); err != nil {
		t.Fatalf("failed to decode the template: %v", err)
	}
	expected := testfixtures.ReadYAML[map[string]map[string]any](t, filepath.Join(dir, "seed", "expected", "02-overrides.yaml"))
	if len(expected) != 1 {
		t.Fatalf("got %d documents in the expected file, want 1", len(expected))
	}
	clusters := make([]string, 0, len(expected[0]))
	for c := range expected[0] {
		clusters = append(clusters, c)
	}
	slices.Sort(clusters)
	if diff := cmp.Diff([]string{"cce", "local"}, clusters); diff != "" {
		t.Fatalf("clusters in the expected file mismatch (-want +got):\n%s", diff)
	}

	for _, cluster := range clusters {
		t.Run(cluster, func(t *testing.T) {
			overrides, err := ForCluster(fed.Spec.Overrides, cluster)
			if err != nil {
				t.Fatalf("ForCluster() error = %v", err)
			}
			res, err := Render(Input{
				Template: template, APIVersion: "apps/v1", Kind: "Deployment",
				Name: fed.Name, Namespace: fed.Namespace, Namespaced: true, Overrides: overrides,
			})
			if err != nil {
				t.Fatalf("Render() error = %v", err)
			}
			obj := res.Object.Object
			container := func() map[string]any {
				cs, _, _ := unstructured.NestedSlice(obj, "spec", "template", "spec", "containers")
				if len(cs) == 0 {
					t.Fatalf("rendered object has no containers: %v", obj)
				}
				return cs[0].(map[string]any)
			}
			for field, want := range expected[0][cluster] {
				var got any
				switch field {
				case "spec.replicas":
					got, _, _ = unstructured.NestedFieldNoCopy(obj, "spec", "replicas")
					want = int64(want.(float64))
				case "image":
					got = container()["image"]
				case "args":
					got = container()["args"]
				case "annotation foo":
					v, found, _ := unstructured.NestedFieldNoCopy(obj, "metadata", "annotations", "foo")
					got = v
					if !found {
						got = "absent"
					}
				default:
					t.Fatalf("the expected file lists %q, which this test does not know how to check", field)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s mismatch (-want +got):\n%s", field, diff)
				}
			}
			if got := res.Object.GetLabels()[contract.ManagedLabel]; got != contract.ManagedLabelValue {
				t.Errorf("managed label = %q, want %q", got, contract.ManagedLabelValue)
			}
			if got, want := res.Object.GetName(), "test-deployment"; got != want {
				t.Errorf("name = %q, want %q", got, want)
			}
		})
	}
}
