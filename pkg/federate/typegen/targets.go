package typegen

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// Target is a type to federate.
type Target struct {
	// Group is the target's API group, empty for the core group.
	Group string
	// Version is the target's API version.
	Version string
	// Kind is the target's kind.
	Kind string
	// Plural is the target's resource name.
	Plural string
	// Namespaced says whether the target is namespaced.
	Namespaced bool
	// ShortNames are the federated type's short names.
	ShortNames []string
	// FederatedGroup is the federated type's API group; empty means types.kubefed.io.
	FederatedGroup string
	// FederatedVersion is the federated type's API version; empty means v1beta1.
	FederatedVersion string
}

// DefaultTargets are the types that KubeFed federates out of the box, in the order of their
// FederatedTypeConfig names.
func DefaultTargets() []Target {
	return []Target{
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Plural: "clusterroles"},
		{Version: "v1", Kind: "ConfigMap", Plural: "configmaps", Namespaced: true, ShortNames: []string{"fcm"}},
		{Group: "apps", Version: "v1", Kind: "Deployment", Plural: "deployments", Namespaced: true, ShortNames: []string{"fdeploy"}},
		{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress", Plural: "ingresses", Namespaced: true, ShortNames: []string{"fing"}},
		{Group: "batch", Version: "v1", Kind: "Job", Plural: "jobs", Namespaced: true},
		{Version: "v1", Kind: "Namespace", Plural: "namespaces", ShortNames: []string{"fns"}},
		{Group: "apps", Version: "v1", Kind: "ReplicaSet", Plural: "replicasets", Namespaced: true, ShortNames: []string{"frs"}},
		{Version: "v1", Kind: "Secret", Plural: "secrets", Namespaced: true},
		{Version: "v1", Kind: "ServiceAccount", Plural: "serviceaccounts", Namespaced: true, ShortNames: []string{"fsa"}},
		{Version: "v1", Kind: "Service", Plural: "services", Namespaced: true, ShortNames: []string{"fsvc"}},
	}
}

// TypeConfigName is the FederatedTypeConfig name of the target: its plural, then "." and its
// group unless it is the core group.
func (t Target) TypeConfigName() string {
	if t.Group == "" {
		return t.Plural
	}
	return t.Plural + "." + t.Group
}

// GroupVersion is the target's apiVersion ("v1", "apps/v1").
func (t Target) GroupVersion() string {
	if t.Group == "" {
		return t.Version
	}
	return t.Group + "/" + t.Version
}

// OpenAPIPath is the path of the target's OpenAPI v3 document under /openapi/v3.
func (t Target) OpenAPIPath() string {
	if t.Group == "" {
		return "api/" + t.Version
	}
	return "apis/" + t.Group + "/" + t.Version
}

// FederatedGroupVersion is the federated type's group and version: types.kubefed.io/v1beta1
// unless FederatedGroup or FederatedVersion say otherwise.
func (t Target) FederatedGroupVersion() schema.GroupVersion {
	gv := typesv1beta1.GroupVersion
	if t.FederatedGroup != "" {
		gv.Group = t.FederatedGroup
	}
	if t.FederatedVersion != "" {
		gv.Version = t.FederatedVersion
	}
	return gv
}

// FederatedCRDName is the name of the federated type's CRD: its plural, "." and its group.
func (t Target) FederatedCRDName() string {
	return t.FederatedPlural() + "." + t.FederatedGroupVersion().Group
}

// FederatedKind is the federated type's kind: "Federated" and the target's kind.
func (t Target) FederatedKind() string { return "Federated" + t.Kind }

// FederatedPlural is the federated type's resource name: "federated" and the target's plural.
func (t Target) FederatedPlural() string { return "federated" + t.Plural }

// FederatedNamespaced says whether the federated type is namespaced. A FederatedNamespace is
// namespaced (it lives in the namespace it federates) although Namespace is cluster-scoped.
func (t Target) FederatedNamespaced() bool {
	return t.Namespaced || contract.IsNamespace(t.Group, t.Kind)
}

// TypeConfig returns the FederatedTypeConfig that enables the target's federation, in namespace.
func (t Target) TypeConfig(namespace string) *corev1beta1.FederatedTypeConfig {
	scope := func(namespaced bool) corev1beta1.ResourceScope {
		if namespaced {
			return corev1beta1.NamespaceScoped
		}
		return corev1beta1.ClusterScoped
	}
	ftc := &corev1beta1.FederatedTypeConfig{
		Spec: corev1beta1.FederatedTypeConfigSpec{
			TargetType: corev1beta1.APIResource{
				Group: t.Group, Version: t.Version, Kind: t.Kind, PluralName: t.Plural, Scope: scope(t.Namespaced),
			},
			Propagation: corev1beta1.PropagationEnabled,
			FederatedType: corev1beta1.APIResource{
				Group:      t.FederatedGroupVersion().Group,
				Version:    t.FederatedGroupVersion().Version,
				Kind:       t.FederatedKind(),
				PluralName: t.FederatedPlural(),
				Scope:      scope(t.FederatedNamespaced()),
			},
		},
	}
	ftc.APIVersion = corev1beta1.GroupVersion.String()
	ftc.Kind = "FederatedTypeConfig"
	ftc.Name = t.TypeConfigName()
	ftc.Namespace = namespace
	return ftc
}
