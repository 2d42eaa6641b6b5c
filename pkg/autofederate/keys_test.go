package autofederate

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

func TestKeys(t *testing.T) {
	configMaps := typeConfig("", "ConfigMap", "configmaps", true).Spec.TargetType
	namespaces := typeConfig("", "Namespace", "namespaces", false).Spec.TargetType
	fed := func(namespace, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetNamespace(namespace)
		u.SetName(name)
		return u
	}
	if got, want := FederatedKey(configMaps, types.NamespacedName{Namespace: "shop", Name: "settings"}), (types.NamespacedName{Namespace: "shop", Name: "settings"}); got != want {
		t.Errorf("FederatedKey of a ConfigMap = %s, want %s", got, want)
	}
	if got, want := FederatedKey(namespaces, types.NamespacedName{Name: "shop"}), (types.NamespacedName{Namespace: "shop", Name: "shop"}); got != want {
		t.Errorf("FederatedKey of a Namespace = %s, want %s (a FederatedNamespace is in its namespace)", got, want)
	}
	for _, tc := range []struct {
		name   string
		target corev1beta1.APIResource
		fed    *unstructured.Unstructured
		want   types.NamespacedName
		ok     bool
	}{
		{name: "a FederatedConfigMap", target: configMaps, fed: fed("shop", "settings"), want: types.NamespacedName{Namespace: "shop", Name: "settings"}, ok: true},
		{name: "a FederatedNamespace in its namespace", target: namespaces, fed: fed("shop", "shop"), want: types.NamespacedName{Name: "shop"}, ok: true},
		{name: "a FederatedNamespace elsewhere federates nothing", target: namespaces, fed: fed("other", "shop"), ok: false},
	} {
		got, ok := NativeKey(tc.target, tc.fed)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("%s: NativeKey = %s, %v; want %s, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
