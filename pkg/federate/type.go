package federate

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// Type is a federated type as the sync reconciler sees it: what its FederatedTypeConfig says.
type Type struct {
	// Name is the FederatedTypeConfig's name, such as deployments.apps.
	Name string
	// Target is the kind of the member objects.
	Target schema.GroupVersionKind
	// Resource is the member objects' plural resource name, such as deployments.
	Resource string
	// Namespaced tells whether the member objects are namespaced.
	Namespaced bool
	// Federated is the kind of the federated objects.
	Federated schema.GroupVersionKind
	// StatusCollection tells whether the member objects' status is copied into
	// status.clusters[].remoteStatus.
	StatusCollection bool
}

// TypeFromConfig reads a FederatedTypeConfig. Status collection is on when the config says
// Enabled and, when it says nothing, for Deployments, ReplicaSets and Jobs.
func TypeFromConfig(ftc *corev1beta1.FederatedTypeConfig) Type {
	s := ftc.Spec
	t := Type{
		Name:       ftc.Name,
		Target:     schema.GroupVersionKind{Group: s.TargetType.Group, Version: s.TargetType.Version, Kind: s.TargetType.Kind},
		Resource:   s.TargetType.PluralName,
		Namespaced: s.TargetType.Scope == corev1beta1.NamespaceScoped,
		Federated:  schema.GroupVersionKind{Group: s.FederatedType.Group, Version: s.FederatedType.Version, Kind: s.FederatedType.Kind},
	}
	if s.StatusCollection != nil {
		t.StatusCollection = *s.StatusCollection == corev1beta1.StatusCollectionEnabled
	} else {
		switch t.Target.GroupKind() {
		case schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, schema.GroupKind{Group: "batch", Kind: "Job"}:
			t.StatusCollection = true
		}
	}
	return t
}

// federatedKey maps a member object to its federated object: same name, and same namespace (a
// FederatedNamespace is in the namespace it federates).
func (t Type) federatedKey(obj *unstructured.Unstructured) types.NamespacedName {
	if t.isNamespace() {
		return types.NamespacedName{Namespace: obj.GetName(), Name: obj.GetName()}
	}
	return types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// sourceUID returns the UID of the host object that fed was generated from: its controller
// owner, when that owner is of the type's target kind (auto-federation sets it). Empty
// otherwise.
func (t Type) sourceUID(fed *unstructured.Unstructured) types.UID {
	owner := metav1.GetControllerOfNoCopy(fed)
	if owner == nil || owner.Kind != t.Target.Kind {
		return ""
	}
	if gv, err := schema.ParseGroupVersion(owner.APIVersion); err != nil || gv.Group != t.Target.Group {
		return ""
	}
	return owner.UID
}

// isNamespace tells whether the type federates namespaces.
func (t Type) isNamespace() bool {
	return contract.IsNamespace(t.Target.Group, t.Target.Kind)
}
