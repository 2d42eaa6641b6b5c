package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of this package's kinds.
var GroupVersion = schema.GroupVersion{Group: "core.kubefed.io", Version: "v1beta1"}

// AddToScheme registers this package's kinds with a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&KubeFedCluster{}, &KubeFedClusterList{},
		&KubeFedConfig{}, &KubeFedConfigList{},
		&FederatedTypeConfig{}, &FederatedTypeConfigList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
