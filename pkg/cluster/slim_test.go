package cluster

import (
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestSlim(t *testing.T) {
	deployment := func() *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{
				"name": "web", "namespace": "ns", "resourceVersion": "7", "generation": int64(3),
				"labels":      map[string]any{"kubefed.io/managed": "true"},
				"annotations": map[string]any{"fedplane.io/applied": "abc"},
				"managedFields": []any{
					map[string]any{"manager": "fedplane", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-12-03T01:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:spec": map[string]any{}}},
					map[string]any{"manager": "kube-controller-manager", "operation": "Update", "subresource": "status", "fieldsV1": map[string]any{"f:status": map[string]any{}}},
				},
			},
			"spec": map[string]any{
				"replicas": int64(2),
				"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
				"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "x"}}}},
			},
			"status": map[string]any{"readyReplicas": int64(2)},
		}}
	}
	tests := []struct {
		name string
		in   *unstructured.Unstructured
		want map[string]any
	}{{
		name: "a deployment keeps its metadata, who manages its fields, status, replicas and selector",
		in:   deployment(),
		want: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{
				"name": "web", "namespace": "ns", "resourceVersion": "7", "generation": int64(3),
				"labels":      map[string]any{"kubefed.io/managed": "true"},
				"annotations": map[string]any{"fedplane.io/applied": "abc", SlimAnnotation: "true"},
				"managedFields": []any{
					map[string]any{"manager": "fedplane", "operation": "Update"},
					map[string]any{"manager": "kube-controller-manager", "operation": "Update", "subresource": "status"},
				},
			},
			"spec":   map[string]any{"replicas": int64(2), "selector": map[string]any{"matchLabels": map[string]any{"app": "web"}}},
			"status": map[string]any{"readyReplicas": int64(2)},
		},
	}, {
		name: "a config map loses its data",
		in: &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "c"},
			"data":     map[string]any{"big": "xxxxxxxx"},
		}},
		want: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "c", "annotations": map[string]any{SlimAnnotation: "true"}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.in.DeepCopy()
			got := Slim(tt.in)
			if diff := cmp.Diff(tt.want, got.Object); diff != "" {
				t.Errorf("Slim (-want +got):\n%s", diff)
			}
			if !IsSlim(got) || IsSlim(tt.in) {
				t.Errorf("IsSlim: slim copy %v, original %v; want true and false", IsSlim(got), IsSlim(tt.in))
			}
			if diff := cmp.Diff(before.Object, tt.in.Object); diff != "" {
				t.Errorf("Slim changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestSlimCopiesShareTheirRepeatedStrings(t *testing.T) {
	decode := func(name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		raw := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `","namespace":"bench","labels":{"kubefed.io/managed":"true"}},"data":{"k":"v"}}`
		if err := u.UnmarshalJSON([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		return u
	}
	a, b := Slim(decode("a")), Slim(decode("b"))
	// Two strings are one when their bytes are at one address.
	if unsafe.StringData(a.GetNamespace()) != unsafe.StringData(b.GetNamespace()) { //nolint:gosec // See above.
		t.Error("the two slim copies hold two copies of their namespace")
	}
	la, lb := a.Object["metadata"].(map[string]any)["labels"].(map[string]any), b.Object["metadata"].(map[string]any)["labels"].(map[string]any)
	if unsafe.StringData(la["kubefed.io/managed"].(string)) != unsafe.StringData(lb["kubefed.io/managed"].(string)) { //nolint:gosec // See above.
		t.Error("the two slim copies hold two copies of their label's value")
	}
	if a.GetName() != "a" || b.GetName() != "b" {
		t.Errorf("names = %q, %q; want a, b", a.GetName(), b.GetName())
	}
}
