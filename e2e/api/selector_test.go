package api_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/federate/typegen"
)

// selectorField is the field that every refusal of a cluster selector names.
const selectorField = "spec.placement.clusterSelector.matchExpressions"

// invalidSelectors are cluster selectors that metav1's LabelSelector validation refuses, with
// the words the API server's message must hold.
var invalidSelectors = []struct {
	name, selector, message string
}{
	{"an unknown operator", `{"matchExpressions": [{"key": "k", "operator": "Almost"}]}`, "operator must be In, NotIn, Exists or DoesNotExist"},
	{"a lower-case operator", `{"matchExpressions": [{"key": "k", "operator": "in", "values": ["a"]}]}`, "operator must be In, NotIn, Exists or DoesNotExist"},
	{"In without values", `{"matchExpressions": [{"key": "k", "operator": "In"}]}`, "values must be non-empty when operator is In or NotIn"},
	{"NotIn with empty values", `{"matchExpressions": [{"key": "k", "operator": "NotIn", "values": []}]}`, "values must be non-empty when operator is In or NotIn"},
	{"Exists with values", `{"matchExpressions": [{"key": "k", "operator": "Exists", "values": ["a"]}]}`, "values must be empty when operator is Exists or DoesNotExist"},
	{"DoesNotExist with values, after a valid requirement", `{"matchExpressions": [{"key": "j", "operator": "Exists"}, {"key": "k", "operator": "DoesNotExist", "values": ["a"]}]}`, "values must be empty when operator is Exists or DoesNotExist"},
}

// validSelectors are cluster selectors that must stay accepted.
var validSelectors = []string{
	`{}`,
	`{"matchLabels": {"region": "eu"}}`,
	`{"matchExpressions": [{"key": "region", "operator": "In", "values": ["eu", "us"]}, {"key": "tier", "operator": "NotIn", "values": ["edge"]}, {"key": "gpu", "operator": "Exists"}, {"key": "legacy", "operator": "DoesNotExist", "values": []}]}`,
}

// templates are valid templates of the kinds whose schema requires fields; others take {}.
var templates = map[string]string{
	"Deployment": `{"spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "x", "image": "x"}]}}}}`,
	"ReplicaSet": `{"spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "x", "image": "x"}]}}}}`,
}

// TestClusterSelectorRequirementsAreValidated checks, for every default federated type and for a
// type that fedctl enable generates, that a cluster selector that metav1's validation refuses is
// refused at apply with the field named, and that valid selectors are accepted.
func TestClusterSelectorRequirementsAreValidated(t *testing.T) {
	cs, applier := host(t)
	ensureNamespace(t, cs, "test-namespace")

	fedctl, err := framework.BuildCommand(t.TempDir(), "fedctl")
	if err != nil {
		t.Fatal(err)
	}
	enable := exec.CommandContext(t.Context(), fedctl, "enable", "resourcequotas", "--kubeconfig", lab.KubeconfigPath(), "--context", framework.HostName)
	if out, err := enable.CombinedOutput(); err != nil {
		t.Fatalf("fedctl enable resourcequotas: %v\n%s", err, out)
	}
	targets := typegen.DefaultTargets()
	targets = append(targets, typegen.Target{Version: "v1", Kind: "ResourceQuota", Plural: "resourcequotas", Namespaced: true})

	for _, target := range targets {
		t.Run(target.FederatedKind(), func(t *testing.T) {
			object := func(name, selector string) *unstructured.Unstructured {
				t.Helper()
				template, ok := templates[target.Kind]
				if !ok {
					template = `{}`
				}
				obj := &unstructured.Unstructured{}
				if err := json.Unmarshal([]byte(`{"spec": {"template": `+template+`, "placement": {"clusterSelector": `+selector+`}}}`), &obj.Object); err != nil {
					t.Fatalf("selector %s: %v", selector, err)
				}
				obj.SetAPIVersion(target.FederatedGroupVersion().String())
				obj.SetKind(target.FederatedKind())
				obj.SetName(name)
				if target.FederatedNamespaced() {
					obj.SetNamespace("test-namespace")
				}
				return obj
			}
			for i, tc := range invalidSelectors {
				obj := object(fmt.Sprintf("invalid-selector-%d", i), tc.selector)
				_, err := applier.Create(t.Context(), obj.DeepCopy())
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), selectorField) || !strings.Contains(err.Error(), tc.message) {
					t.Errorf("%s: create got error %v, want Invalid naming %s with %q", tc.name, err, selectorField, tc.message)
				}
				_, err = applier.Apply(t.Context(), obj.DeepCopy(), "selector-test")
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), selectorField) {
					t.Errorf("%s: server-side apply got error %v, want Invalid naming %s", tc.name, err, selectorField)
				}
			}
			for i, selector := range validSelectors {
				obj := object(fmt.Sprintf("valid-selector-%d", i), selector)
				if _, err := applier.Create(t.Context(), obj); err != nil {
					t.Errorf("selector %s refused: %v", selector, err)
					continue
				}
				r, err := applier.Resource(obj)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Delete(t.Context(), obj.GetName(), metav1.DeleteOptions{}); err != nil {
					t.Errorf("failed to delete %s: %v", obj.GetName(), err)
				}
			}
		})
	}
}
