package framework

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// FederatedStatus reads a federated object's status; it is empty when the object or its status
// is missing.
func FederatedStatus(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, namespace, name string) (typesv1beta1.FederatedStatus, error) {
	var st typesv1beta1.FederatedStatus
	obj, err := GetObject(ctx, c, gvk, namespace, name)
	if err != nil || obj == nil {
		return st, err
	}
	raw, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "status")
	if raw == nil {
		return st, nil
	}
	b, err := yaml.Marshal(raw)
	if err != nil {
		return st, err
	}
	return st, yaml.Unmarshal(b, &st)
}

// Propagation returns the Propagation condition's status and reason, as "True/" or
// "False/CheckClusters"; "" when there is none.
func Propagation(st typesv1beta1.FederatedStatus) string {
	for _, c := range st.Conditions {
		if c != nil && c.Type == typesv1beta1.PropagationConditionType {
			return string(c.Status) + "/" + string(c.Reason)
		}
	}
	return ""
}

// ClusterStatuses maps status.clusters to name=status strings, in order.
func ClusterStatuses(st typesv1beta1.FederatedStatus) []string {
	out := []string{}
	for _, c := range st.Clusters {
		out = append(out, c.Name+"="+string(c.Status))
	}
	return out
}
