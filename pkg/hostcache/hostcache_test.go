package hostcache

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"
)

// federated is a FederatedConfigMap as the host's API server sends it, placed in five
// clusters with an override each, its status written.
func federated(i int) []byte {
	var overrides, clusters []any
	for c := 1; c <= 5; c++ {
		name := fmt.Sprintf("member-%02d", c)
		overrides = append(overrides, map[string]any{"clusterName": name, "clusterOverrides": []any{map[string]any{"op": "add", "path": "/metadata/labels/example.com~1cluster", "value": name}}})
		clusters = append(clusters, map[string]any{"name": name})
	}
	obj := map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedConfigMap",
		"metadata": map[string]any{
			"name": fmt.Sprintf("web-%05d", i), "namespace": "bench", "uid": fmt.Sprintf("1b4e28ba-2fa1-11d2-883f-%012d", i),
			"resourceVersion": fmt.Sprint(100000 + i), "generation": 2, "creationTimestamp": "2026-12-03T08:00:00Z",
			"labels": map[string]any{"app": "web"}, "finalizers": []any{"kubefed.io/sync-controller"},
			"ownerReferences": []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "web", "uid": "42", "controller": true}},
			"managedFields":   []any{map[string]any{"manager": "kubectl", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:spec": map[string]any{}}}},
		},
		"spec": map[string]any{
			"template":  map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "web"}}, "data": map[string]any{"version": "1", "settings.yaml": strings.Repeat("key: value # padding\n", 49)}},
			"placement": map[string]any{"clusterSelector": map[string]any{}},
			"overrides": overrides,
		},
		"status": map[string]any{"observedGeneration": 2, "clusters": clusters, "conditions": []any{map[string]any{"type": "Propagation", "status": "True", "lastTransitionTime": "2026-12-03T08:00:01Z"}}},
	}
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	return b
}

func decode(t testing.TB, raw []byte) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	return u
}

// The object a Compact gives back is the object it was made of, but for the managed fields.
func TestCompactGivesBackTheObject(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
	}{
		{name: "a federated config map with its status", raw: federated(7)},
		{name: "an object being deleted, with fields beyond spec and status", raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"n","deletionTimestamp":"2026-12-03T09:00:00Z","deletionGracePeriodSeconds":0,"annotations":{"a":"b"}},"immutable":true,"data":{"n":"12"},"binaryData":{"b":"AAE="}}`)},
		{name: "a cluster-scoped object", raw: []byte(`{"apiVersion":"types.kubefed.io/v1beta1","kind":"FederatedClusterRole","metadata":{"name":"r","creationTimestamp":"2026-12-03T08:00:00Z"},"spec":{"template":{"rules":[{"verbs":["get"],"resources":["pods"],"apiGroups":[""]}]}}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := decode(t, tt.raw)
			unstructured.RemoveNestedField(want.Object, "metadata", "managedFields")
			out, err := Transform()(decode(t, tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			c, ok := out.(*Compact)
			if !ok {
				t.Fatalf("Transform() = %T, want a *Compact", out)
			}
			if c.ManagedFields != nil {
				t.Error("the compact form keeps the managed fields")
			}
			got, err := c.DeepCopyObject().(*Compact).Unstructured()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.Object, got.Object); diff != "" {
				t.Errorf("object given back (-made of +given back):\n%s", diff)
			}
			// What a reader changes is its own.
			got.SetLabels(map[string]string{"changed": "yes"})
			again, err := c.Unstructured()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.Object, again.Object); diff != "" {
				t.Errorf("a reader's change reached the cache (-made of +given back):\n%s", diff)
			}
		})
	}
}

func TestTransformLeavesTypedObjectsTypedWithoutManagedFields(t *testing.T) {
	in := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	out, err := Transform()(in)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := out.(*corev1.Secret)
	if !ok || got.Name != "s" || got.ManagedFields != nil {
		t.Errorf("Transform() = %#v, want the secret s without managed fields", out)
	}
}

// Handlers get unstructured objects, also in a deletion whose last state is unknown.
func TestHandlersGetUnstructuredObjects(t *testing.T) {
	c, err := NewCompact(decode(t, federated(1)))
	if err != nil {
		t.Fatal(err)
	}
	var got []any
	h := handler{toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { got = append(got, o) },
		UpdateFunc: func(o, n any) { got = append(got, o, n) },
		DeleteFunc: func(o any) { got = append(got, o) },
	}}
	h.OnAdd(c, false)
	h.OnUpdate(c, c)
	h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "bench/web-00001", Obj: c})
	if len(got) != 4 {
		t.Fatalf("handler got %d objects, want 4", len(got))
	}
	for i, o := range got[:3] {
		if u, ok := o.(*unstructured.Unstructured); !ok || u.GetName() != "web-00001" {
			t.Errorf("notification %d carries %T, want the unstructured web-00001", i, o)
		}
	}
	d, ok := got[3].(toolscache.DeletedFinalStateUnknown)
	if !ok {
		t.Fatalf("the deletion carries %T, want DeletedFinalStateUnknown", got[3])
	}
	if u, ok := d.Obj.(*unstructured.Unstructured); !ok || u.GetName() != "web-00001" || d.Key != "bench/web-00001" {
		t.Errorf("the deletion's last state is %T under %q, want the unstructured web-00001", d.Obj, d.Key)
	}
}

// BenchmarkHeldBytes reports the heap that 5,000 federated objects take in each form.
func BenchmarkHeldBytes(b *testing.B) {
	const n = 5000
	raws := make([][]byte, n)
	for i := range raws {
		raws[i] = federated(i)
	}
	heap := func() float64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc)
	}
	for _, form := range []string{"unstructured", "compact"} {
		b.Run(form, func(b *testing.B) {
			for b.Loop() {
				before := heap()
				held := make([]any, n)
				for i, raw := range raws {
					u := decode(b, raw)
					held[i] = u
					if form == "compact" {
						c, err := NewCompact(u)
						if err != nil {
							b.Fatal(err)
						}
						held[i] = c
					}
				}
				b.ReportMetric((heap()-before)/n, "heap-B/object")
				runtime.KeepAlive(held)
			}
		})
	}
}

// An object whose metadata does not read as typed metadata stays in the cache, unstructured.
func TestAnObjectThatCannotBeCompactIsKeptAsItIs(t *testing.T) {
	in := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "labels": "not a map"}}}
	out, err := Transform()(in)
	if err != nil {
		t.Fatalf("Transform() error = %v, want the object kept", err)
	}
	if _, err := NewCompact(in); err == nil {
		t.Fatal("NewCompact() read labels that are not a map")
	}
	got, ok := out.(*unstructured.Unstructured)
	if !ok || got.GetName() != "c" {
		t.Errorf("Transform() = %#v, want the unstructured config map c", out)
	}
}
