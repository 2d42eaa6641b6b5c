package cluster

import (
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kindMapper is the REST mapping of every member: the kinds that controllers read and write in
// members, registered from what the host already knows (a FederatedTypeConfig names its target's
// resource and scope). It never asks a member's discovery, so a member that stops answering
// cannot hold a lock that the requests to other members wait on, and nothing on the hot path
// waits for discovery at all.
type kindMapper struct {
	mu sync.RWMutex
	m  *meta.DefaultRESTMapper
}

// builtinKinds are the member kinds that controllers read whatever types are enabled: replica
// scheduling reads the workloads and their pods.
var builtinKinds = []struct {
	gvk        schema.GroupVersionKind
	resource   string
	namespaced bool
}{
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "deployments", true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, "replicasets", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "pods", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, "namespaces", false},
}

func newKindMapper() *kindMapper {
	km := &kindMapper{m: meta.NewDefaultRESTMapper(nil)}
	for _, k := range builtinKinds {
		km.add(k.gvk, k.resource, k.namespaced)
	}
	return km
}

// add registers a kind with its plural resource name and scope. Adding a kind again replaces
// its mapping.
func (km *kindMapper) add(gvk schema.GroupVersionKind, resource string, namespaced bool) {
	scope := meta.RESTScopeRoot
	if namespaced {
		scope = meta.RESTScopeNamespace
	}
	plural := gvk.GroupVersion().WithResource(resource)
	_, singular := meta.UnsafeGuessKindToResource(gvk)
	km.mu.Lock()
	defer km.mu.Unlock()
	km.m.AddSpecific(gvk, plural, singular, scope)
}

// KindFor implements meta.RESTMapper.
func (km *kindMapper) KindFor(resource schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	km.mu.RLock()
	defer km.mu.RUnlock()
	return km.m.KindFor(resource)
}

// KindsFor implements meta.RESTMapper.
func (km *kindMapper) KindsFor(resource schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	km.mu.RLock()
	defer km.mu.RUnlock()
	return km.m.KindsFor(resource)
}

// ResourceFor implements meta.RESTMapper.
func (km *kindMapper) ResourceFor(input schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	km.mu.RLock()
	defer km.mu.RUnlock()
	return km.m.ResourceFor(input)
}

// ResourcesFor implements meta.RESTMapper.
func (km *kindMapper) ResourcesFor(input schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	km.mu.RLock()
	defer km.mu.RUnlock()
	return km.m.ResourcesFor(input)
}

// RESTMapping implements meta.RESTMapper.
func (km *kindMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	km.mu.RLock()
	defer km.mu.RUnlock()
	return km.m.RESTMapping(gk, versions...)
}

// RESTMappings implements meta.RESTMapper.
func (km *kindMapper) RESTMappings(gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	km.mu.RLock()
	defer km.mu.RUnlock()
	return km.m.RESTMappings(gk, versions...)
}

// ResourceSingularizer implements meta.RESTMapper.
func (km *kindMapper) ResourceSingularizer(resource string) (string, error) {
	km.mu.RLock()
	defer km.mu.RUnlock()
	return km.m.ResourceSingularizer(resource)
}
