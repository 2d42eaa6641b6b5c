package propagation_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

const ns = corev1beta1.DefaultNamespace

// controllerBinary is fed-controller, built once by TestMain.
var controllerBinary string

// fedObject builds a federated object from YAML.
func fedObject(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
		t.Fatalf("bad test manifest: %v", err)
	}
	return obj
}

// fedStatus, propagation and clusterStatuses read a federated object's status.
var (
	fedStatus       = framework.FederatedStatus
	propagation     = framework.Propagation
	clusterStatuses = framework.ClusterStatuses
)

var (
	configMapGVK          = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	deploymentGVK         = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	federatedConfigMapGVK = typesv1beta1.GroupVersion.WithKind("FederatedConfigMap")
	federatedDeployGVK    = typesv1beta1.GroupVersion.WithKind("FederatedDeployment")
	federatedNamespaceGVK = typesv1beta1.GroupVersion.WithKind("FederatedNamespace")
)

// federateNamespace creates a namespace in the host and its FederatedNamespace, placed on
// clusters.
func federateNamespace(t *testing.T, host client.Client, name string, clusters ...string) {
	t.Helper()
	if err := host.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	refs := []any{}
	for _, c := range clusters {
		refs = append(refs, map[string]any{"name": c})
	}
	framework.ApplyObject(t, host, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedNamespace",
		"metadata": map[string]any{"name": name, "namespace": name},
		"spec":     map[string]any{"placement": map[string]any{"clusters": refs}},
	}})
}

// configMap builds a FederatedConfigMap with data and a cluster list.
func configMap(namespace, name string, data map[string]any, clusters ...string) *unstructured.Unstructured {
	refs := []any{}
	for _, c := range clusters {
		refs = append(refs, map[string]any{"name": c})
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedConfigMap",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec": map[string]any{
			"template":  map[string]any{"data": data},
			"placement": map[string]any{"clusters": refs},
		},
	}}
}
