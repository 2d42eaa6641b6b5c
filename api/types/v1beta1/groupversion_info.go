package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of every federated type.
var GroupVersion = schema.GroupVersion{Group: "types.kubefed.io", Version: "v1beta1"}
