package v1beta1

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// RetainReplicas reads spec.retainReplicas of a federated object of a scalable type: when true,
// each member's copy keeps the replicas it has (set there by an autoscaler, say) instead of the
// template's, once the copy exists. Only the scalable federated types declare the field in
// their schema, so it is not part of FederatedSpec; anything but the boolean true reads false.
func RetainReplicas(fed *unstructured.Unstructured) bool {
	retain, _, _ := unstructured.NestedBool(fed.Object, "spec", "retainReplicas")
	return retain
}
