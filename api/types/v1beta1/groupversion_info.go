package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of every federated type.
var GroupVersion = schema.GroupVersion{Group: "types.kubefed.io", Version: "v1beta1"}

// FederatedNamespaceGVK is the kind of the FederatedNamespace, whose placement limits every
// namespaced federated object in its namespace.
var FederatedNamespaceGVK = GroupVersion.WithKind("FederatedNamespace")
