package api_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

// TestMinimalKubeFedConfigIsDefaulted creates KubeFedConfigs with an empty spec and with no
// spec at all, as a user may: the API server must store KubeFed's defaults in every field,
// the same as the KubeFedConfig fed-controller creates (kubefedconfig.Default).
func TestMinimalKubeFedConfigIsDefaulted(t *testing.T) {
	cs, applier := host(t)
	ensureNamespace(t, cs, "e2e-kubefedconfig")
	want := kubefedconfig.Default("e2e-kubefedconfig").Spec
	for name, spec := range map[string]any{"empty-spec": map[string]any{}, "no-spec": nil} {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": corev1beta1.GroupVersion.String(), "kind": "KubeFedConfig",
			"metadata": map[string]any{"name": name, "namespace": "e2e-kubefedconfig"},
		}}
		if spec != nil {
			obj.Object["spec"] = spec
		}
		created, err := applier.Create(t.Context(), obj)
		if err != nil {
			t.Fatalf("%s: the minimal KubeFedConfig is refused: %v", name, err)
		}
		got := &corev1beta1.KubeFedConfig{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(created.Object, got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got.Spec); diff != "" {
			t.Errorf("%s: the stored spec is not KubeFed's defaults (-want +got):\n%s", name, diff)
		}
		// Durations are stored as written by the defaults.
		if d, _, _ := unstructured.NestedString(created.Object, "spec", "clusterHealthCheck", "period"); d != "10s" {
			t.Errorf("%s: spec.clusterHealthCheck.period = %q, want 10s", name, d)
		}
	}

	// A field the user sets stays; its siblings are defaulted.
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": corev1beta1.GroupVersion.String(), "kind": "KubeFedConfig",
		"metadata": map[string]any{"name": "partial", "namespace": "e2e-kubefedconfig"},
		"spec": map[string]any{
			"scope":              "Cluster",
			"clusterHealthCheck": map[string]any{"period": "30s"},
			"featureGates":       []any{map[string]any{"name": "PushReconciler", "configuration": "Disabled"}},
		},
	}}
	created, err := applier.Create(t.Context(), obj)
	if err != nil {
		t.Fatalf("the partial KubeFedConfig is refused: %v", err)
	}
	got := &corev1beta1.KubeFedConfig{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(created.Object, got); err != nil {
		t.Fatal(err)
	}
	want.ClusterHealthCheck.Period = &metav1.Duration{Duration: 30e9}
	want.FeatureGates = []corev1beta1.FeatureGatesConfig{{Name: "PushReconciler", Configuration: corev1beta1.ConfigurationDisabled}}
	if diff := cmp.Diff(want, got.Spec); diff != "" {
		t.Errorf("partial: the stored spec (-want +got):\n%s", diff)
	}
}

// TestNamespacedScopeIsRefused applies a KubeFedConfig with scope Namespaced, which fedplane
// does not implement: the API server refuses it, naming the field and saying why.
func TestNamespacedScopeIsRefused(t *testing.T) {
	cs, applier := host(t)
	ensureNamespace(t, cs, "e2e-kubefedconfig")
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": corev1beta1.GroupVersion.String(), "kind": "KubeFedConfig",
		"metadata": map[string]any{"name": "namespaced", "namespace": "e2e-kubefedconfig"},
		"spec":     map[string]any{"scope": "Namespaced"},
	}}
	_, err := applier.Create(t.Context(), obj)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.scope") || !strings.Contains(err.Error(), "namespaced control planes are not supported") {
		t.Fatalf("create of a Namespaced KubeFedConfig: got error %v, want Invalid naming spec.scope and saying namespaced control planes are not supported", err)
	}
}
