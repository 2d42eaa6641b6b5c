package federate

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	"github.com/fedplane/fedplane/pkg/cluster"
)

func TestAppliedCopies(t *testing.T) {
	copyAt := func(rv string, generation int64, hash string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"k": "v"}}}
		u.SetName("c")
		u.SetResourceVersion(rv)
		u.SetGeneration(generation)
		u.SetAnnotations(map[string]string{contract.AppliedAnnotation: hash})
		return u
	}
	key := ContentionKey{Object: client.ObjectKey{Namespace: "ns", Name: "c"}, Cluster: "a"}
	other := ContentionKey{Object: client.ObjectKey{Namespace: "ns", Name: "c"}, Cluster: "b"}
	tests := []struct {
		name   string
		record *unstructured.Unstructured
		key    ContentionKey
		cached *unstructured.Unstructured
		forget bool
		want   bool
	}{
		{name: "the same resourceVersion and hash", record: copyAt("5", 0, "h1"), key: key, cached: cluster.Slim(copyAt("5", 0, "h1")), want: true},
		{name: "another writer changed the copy", record: copyAt("5", 0, "h1"), key: key, cached: cluster.Slim(copyAt("6", 0, "h1")), want: false},
		{name: "another hash", record: copyAt("5", 0, "h1"), key: key, cached: cluster.Slim(copyAt("5", 0, "h2")), want: false},
		{name: "a status change keeps the generation", record: copyAt("5", 2, "h1"), key: key, cached: cluster.Slim(copyAt("9", 2, "h1")), want: true},
		{name: "a spec change raises the generation", record: copyAt("5", 2, "h1"), key: key, cached: cluster.Slim(copyAt("9", 3, "h1")), want: false},
		{name: "another cluster", record: copyAt("5", 0, "h1"), key: other, cached: cluster.Slim(copyAt("5", 0, "h1")), want: false},
		{name: "forgotten", record: copyAt("5", 0, "h1"), key: key, cached: cluster.Slim(copyAt("5", 0, "h1")), forget: true, want: false},
		{name: "a slim copy is never recorded", record: cluster.Slim(copyAt("5", 0, "h1")), key: key, cached: cluster.Slim(copyAt("5", 0, "h1")), want: false},
		{name: "no applied hash", record: copyAt("5", 0, ""), key: key, cached: cluster.Slim(copyAt("5", 0, "")), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &AppliedCopies{}
			a.record(key, tt.record)
			if tt.forget {
				a.forget(key)
			}
			if got := a.holds(tt.key, tt.cached); got != tt.want {
				t.Errorf("holds = %v, want %v", got, tt.want)
			}
		})
	}
	var none *AppliedCopies
	none.record(key, copyAt("5", 0, "h1"))
	if none.holds(key, copyAt("5", 0, "h1")) {
		t.Error("a nil AppliedCopies holds a copy")
	}
}

func TestCompleteCopy(t *testing.T) {
	desired := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "c", "labels": map[string]any{"a": "1"}},
		"data":     map[string]any{"k": "v"},
	}}
	member := desired.DeepCopy()
	member.SetLabels(map[string]string{"a": "changed"})
	member.SetResourceVersion("8")
	got := completeCopy(desired, cluster.Slim(member))
	if got.Object["data"].(map[string]any)["k"] != "v" {
		t.Errorf("the completed copy lost the applied body: %v", got.Object)
	}
	if got.GetResourceVersion() != "8" || got.GetLabels()["a"] != "changed" {
		t.Errorf("the completed copy does not hold the cached metadata: %v", got.Object["metadata"])
	}
	if Matches(desired, got) {
		t.Error("a label changed on the member matches: metadata drift would go unnoticed")
	}
	if desired.GetResourceVersion() != "" {
		t.Error("completeCopy changed the desired object")
	}
}

// TestCompleteCopyOfASecretIsAsStored completes a slim copy of a Secret applied with
// stringData: the member stores it as data, and the completed copy must match what was
// applied, or the copy would be taken as changed back by another writer at every sync.
func TestCompleteCopyOfASecretIsAsStored(t *testing.T) {
	desired := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata":   map[string]any{"name": "s"},
		"stringData": map[string]any{"password": "hunter2"},
	}}
	member := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata": map[string]any{"name": "s", "resourceVersion": "8"},
		"data":     map[string]any{"password": "aHVudGVyMg=="}, //nolint:gosec // A test value, "hunter2".
	}}
	got := completeCopy(desired, cluster.Slim(member))
	if !Matches(desired, got) {
		t.Errorf("the completed copy of the Secret does not match what was applied: %v", got.Object)
	}
	if _, ok := got.Object["stringData"]; ok {
		t.Errorf("the completed copy holds stringData, which the member never stores: %v", got.Object)
	}
	if _, ok := desired.Object["data"]; ok {
		t.Error("completeCopy changed the desired object")
	}
}
