package main

import (
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func federatedConfigMap(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	raw := `{"apiVersion":"types.kubefed.io/v1beta1","kind":"FederatedConfigMap","metadata":{"name":"` + name + `","namespace":"bench","uid":"u-` + name + `",` +
		`"managedFields":[{"manager":"kubectl","operation":"Update","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{}}}]},` +
		`"spec":{"template":{"data":{"k":"v"}},"placement":{"clusters":[{"name":"member-01"}]}},` +
		`"status":{"clusters":[{"name":"member-01"}],"conditions":[{"type":"Propagation","status":"True","lastTransitionTime":"2026-12-03T08:00:00Z"}]}}`
	if err := u.UnmarshalJSON([]byte(raw)); err != nil {
		panic(err)
	}
	return u
}

// The host cache keeps federated objects without their managed fields, as they were otherwise,
// with the strings they repeat shared.
func TestHostCacheSharesTheStringsFederatedObjectsRepeat(t *testing.T) {
	transform := hostTransform()
	want := federatedConfigMap("a")
	unstructured.RemoveNestedField(want.Object, "metadata", "managedFields")
	got := []*unstructured.Unstructured{}
	for _, name := range []string{"a", "b"} {
		out, err := transform(federatedConfigMap(name))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.(*unstructured.Unstructured))
	}
	if diff := cmp.Diff(want.Object, got[0].Object); diff != "" {
		t.Errorf("cached object (-want +got):\n%s", diff)
	}
	cluster := func(u *unstructured.Unstructured) string {
		return u.Object["status"].(map[string]any)["clusters"].([]any)[0].(map[string]any)["name"].(string)
	}
	if unsafe.StringData(cluster(got[0])) != unsafe.StringData(cluster(got[1])) { //nolint:gosec // Two strings are one when their bytes are at one address.
		t.Error("two federated objects hold two copies of their cluster's name")
	}
}

func TestHostCacheStripsTypedObjectsManagedFields(t *testing.T) {
	in := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	out, err := hostTransform()(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*corev1.Secret); got.Name != "s" || got.ManagedFields != nil {
		t.Errorf("cached secret %q with managed fields %v, want s without", got.Name, got.ManagedFields)
	}
}
