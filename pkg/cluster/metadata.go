package cluster

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/pkg/intern"
)

// metadataOnlyKinds are the member kinds whose objects hold nothing that decisions read but
// their metadata: they have no status and no replicas, so a slim copy of one is its metadata
// alone. Their member caches watch metadata only (PartialObjectMetadata, which the API server
// sends in protobuf and without the body): neither the cache's memory nor the work of
// decoding its watch grows with the size of a ConfigMap's or a Secret's data. Every other kind
// is watched whole and slimmed (see Slim).
var metadataOnlyKinds = map[schema.GroupKind]bool{
	{Kind: "ConfigMap"}:      true,
	{Kind: "Secret"}:         true,
	{Kind: "ServiceAccount"}: true,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:               true,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:        true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: true,
}

// MetadataOnly tells whether the member caches hold the objects of kind gvk as their metadata
// alone.
func MetadataOnly(gvk schema.GroupVersionKind) bool {
	return metadataOnlyKinds[gvk.GroupKind()]
}

// cacheObject is the object that the member caches are asked for, for a read of kind gvk: a
// PartialObjectMetadata for a kind watched as metadata only, an unstructured object otherwise.
func cacheObject(gvk schema.GroupVersionKind) client.Object {
	if MetadataOnly(gvk) {
		p := &metav1.PartialObjectMetadata{}
		p.SetGroupVersionKind(gvk)
		return p
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u
}

// slimMetadata keeps, of an object's metadata as the member cache holds it, what Slim keeps
// of an unstructured object's: the managed-fields entries lose their fields, and the strings
// that repeat from copy to copy are interned.
func slimMetadata(p *metav1.PartialObjectMetadata) *metav1.PartialObjectMetadata {
	m := &p.ObjectMeta
	intern.ObjectMeta(m)
	if m.ManagedFields != nil {
		entries := make([]metav1.ManagedFieldsEntry, len(m.ManagedFields))
		for i, e := range m.ManagedFields {
			entries[i] = metav1.ManagedFieldsEntry{Manager: intern.String(e.Manager), Operation: metav1.ManagedFieldsOperationType(intern.String(string(e.Operation))), Subresource: intern.String(e.Subresource)}
		}
		m.ManagedFields = entries
	}
	return p
}

// fromMetadata is the slim copy (see Slim) that an object's cached metadata stands for, of
// kind gvk: the same apiVersion, kind and metadata, marked with SlimAnnotation.
func fromMetadata(p *metav1.PartialObjectMetadata, gvk schema.GroupVersionKind) (*unstructured.Unstructured, error) {
	meta, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&p.ObjectMeta)
	if err != nil {
		return nil, err
	}
	ann, _ := meta["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		meta["annotations"] = ann
	}
	ann[SlimAnnotation] = "true"
	u := &unstructured.Unstructured{Object: map[string]any{"metadata": meta}}
	u.SetGroupVersionKind(gvk)
	return u, nil
}
