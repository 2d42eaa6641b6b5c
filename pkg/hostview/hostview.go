package hostview

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/placement"
)

// PlacementClusters is the clusters as placement sees them: name, labels and readiness.
func PlacementClusters(registered []corev1beta1.KubeFedCluster) []placement.Cluster {
	out := make([]placement.Cluster, 0, len(registered))
	for _, c := range registered {
		out = append(out, placement.Cluster{Name: c.Name, Labels: c.Labels, Ready: cluster.IsReady(c.Status)})
	}
	return out
}

// ListPlacementClusters lists the KubeFedClusters of the control plane's namespace as
// placement sees them.
func ListPlacementClusters(ctx context.Context, c client.Reader, namespace string) ([]placement.Cluster, error) {
	list := &corev1beta1.KubeFedClusterList{}
	if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("failed to list the KubeFedClusters: %w", err)
	}
	return PlacementClusters(list.Items), nil
}

// NamespacePlacement reads the placement of the FederatedNamespace of namespace. It is nil
// when the namespace is not federated, when its FederatedNamespace is being deleted, and when
// its spec cannot be read.
func NamespacePlacement(ctx context.Context, c client.Reader, namespace string) (*typesv1beta1.Placement, error) {
	fns := &unstructured.Unstructured{}
	fns.SetGroupVersionKind(typesv1beta1.FederatedNamespaceGVK)
	switch err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: namespace}, fns); {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("failed to read the FederatedNamespace %s: %w", namespace, err)
	}
	var spec typesv1beta1.FederatedSpec
	if err := FromUnstructured(fns.Object["spec"], &spec); err != nil || fns.GetDeletionTimestamp() != nil {
		return nil, nil //nolint:nilerr // An unreadable spec places nothing, as no FederatedNamespace does.
	}
	return &spec.Placement, nil
}

// FromUnstructured decodes an unstructured value into a typed one through JSON, keeping the
// difference between a missing and an empty list, and decoding types with their own JSON
// encoding (such as Raw) as they decode from the API.
func FromUnstructured(v any, into any) error {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}
