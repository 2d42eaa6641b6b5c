package cluster

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// SlimAnnotation marks an object read from a member's cache: the cache keeps of each object
// only what decisions need, so that its memory does not grow with the objects' size. The
// annotation is set in the cache's copy only, never written to a member.
const SlimAnnotation = "internal.fedplane.io/slim"

// slimTransform keeps, of each unstructured object the member cache holds, its kind, its
// metadata (with only the manager and operation of each managed-fields entry), its status (remote status and
// replica counts) and the spec fields that a scalable workload's decisions read (replicas
// and selector); it drops the rest of the body, such as a ConfigMap's data, a Secret's data or
// a Deployment's pod template. A copy whose body matters is read from the member itself.
// Typed objects only lose their managed fields.
func slimTransform() toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	return func(in any) (any, error) {
		u, ok := in.(*unstructured.Unstructured)
		if !ok {
			return strip(in)
		}
		return Slim(u), nil
	}
}

// Slim returns what the member cache keeps of obj (see slimTransform), marked with
// SlimAnnotation.
func Slim(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := map[string]any{}
	for _, k := range []string{"apiVersion", "kind", "status"} {
		if v, ok := obj.Object[k]; ok {
			out[k] = v
		}
	}
	if meta, ok := obj.Object["metadata"].(map[string]any); ok {
		// A copy of the map: the marker below must not reach obj.
		kept := make(map[string]any, len(meta))
		for k, v := range meta {
			kept[k] = v
		}
		if entries, ok := meta["managedFields"].([]any); ok {
			kept["managedFields"] = slimManagedFields(entries)
		}
		out["metadata"] = kept
	}
	if spec, ok := obj.Object["spec"].(map[string]any); ok {
		kept := map[string]any{}
		for _, k := range []string{"replicas", "selector"} {
			if v, ok := spec[k]; ok {
				kept[k] = v
			}
		}
		if len(kept) > 0 {
			out["spec"] = kept
		}
	}
	slim := &unstructured.Unstructured{Object: out}
	ann := slim.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[SlimAnnotation] = "true"
	slim.SetAnnotations(ann)
	return slim
}

// slimManagedFields keeps of each managed-fields entry who wrote it, how and to which
// subresource: what tells whether this control plane's fields were written with a create (see
// federate's act), in the order of the object's entries, without the fields themselves.
func slimManagedFields(entries []any) []any {
	out := make([]any, 0, len(entries))
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		kept := map[string]any{}
		for _, k := range []string{"manager", "operation", "subresource"} {
			if v, ok := entry[k]; ok {
				kept[k] = v
			}
		}
		out = append(out, kept)
	}
	return out
}

// IsSlim tells whether obj is a member cache's slim copy.
func IsSlim(obj *unstructured.Unstructured) bool {
	return obj != nil && obj.GetAnnotations()[SlimAnnotation] == "true"
}
