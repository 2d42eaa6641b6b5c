package framework

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// ClusterRefs is a placement's cluster list.
func ClusterRefs(clusters ...string) []any {
	refs := []any{}
	for _, c := range clusters {
		refs = append(refs, map[string]any{"name": c})
	}
	return refs
}

// FederateNamespace creates a namespace in the host and applies its FederatedNamespace, placed
// on clusters.
func FederateNamespace(t testing.TB, host client.Client, name string, clusters ...string) {
	t.Helper()
	if err := host.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	ApplyObject(t, host, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedNamespace",
		"metadata": map[string]any{"name": name, "namespace": name},
		"spec":     map[string]any{"placement": map[string]any{"clusters": ClusterRefs(clusters...)}},
	}})
}

// FederatedConfigMap builds a FederatedConfigMap with data, placed on clusters.
func FederatedConfigMap(namespace, name string, data map[string]any, clusters ...string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedConfigMap",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec": map[string]any{
			"template":  map[string]any{"data": data},
			"placement": map[string]any{"clusters": ClusterRefs(clusters...)},
		},
	}}
}

// RegisterEndpoint registers a KubeFedCluster name for an API server at endpoint that is not a
// lab cluster (a test's own server), trusting ca and sending token.
func RegisterEndpoint(ctx context.Context, host client.Client, name, endpoint string, ca []byte, token string) error {
	ns := corev1beta1.DefaultNamespace
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-token", Namespace: ns},
		Data:       map[string][]byte{cluster.TokenKey: []byte(token)},
	}
	if err := host.Create(ctx, secret); err != nil {
		return fmt.Errorf("failed to create the token Secret of %s: %w", name, err)
	}
	kfc := &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1beta1.KubeFedClusterSpec{APIEndpoint: endpoint, CABundle: ca, SecretRef: corev1beta1.LocalSecretReference{Name: secret.Name}},
	}
	if err := host.Create(ctx, kfc); err != nil {
		return fmt.Errorf("failed to create the KubeFedCluster %s: %w", name, err)
	}
	return nil
}

// Unregister deletes a KubeFedCluster and its token Secret, as unjoin does on the host.
func Unregister(ctx context.Context, host client.Client, name string) error {
	ns := corev1beta1.DefaultNamespace
	kfc := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if err := host.Delete(ctx, kfc); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-token", Namespace: ns}}
	if err := host.Delete(ctx, secret); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
