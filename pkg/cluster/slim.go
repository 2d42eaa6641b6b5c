package cluster

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/fedplane/fedplane/pkg/intern"
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
// The metadata of a kind watched as metadata only is slimmed likewise (see slimMetadata);
// typed objects only lose their managed fields.
func slimTransform() toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	return func(in any) (any, error) {
		switch o := in.(type) {
		case *unstructured.Unstructured:
			return Slim(o), nil
		case *metav1.PartialObjectMetadata:
			return slimMetadata(o), nil
		default:
			return strip(in)
		}
	}
}

// Slim returns what the member cache keeps of obj (see slimTransform), marked with
// SlimAnnotation. What it keeps is copied, with its strings interned (see package intern) but for
// those that differ from copy to copy: a member holds thousands of copies whose label and
// annotation keys, namespaces, names and applied hashes are the same strings, and one copy of
// each is enough.
func Slim(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := map[string]any{}
	for _, k := range []string{"apiVersion", "kind"} {
		if v, ok := obj.Object[k].(string); ok {
			out[k] = intern.String(v)
		}
	}
	if st, ok := obj.Object["status"]; ok {
		out["status"] = intern.JSON(st)
	}
	meta, _ := obj.Object["metadata"].(map[string]any)
	kept := make(map[string]any, len(meta)+1)
	for k, v := range meta {
		switch k {
		case "uid", "resourceVersion", "creationTimestamp":
			kept[intern.String(k)] = v
		case "managedFields":
			if entries, ok := v.([]any); ok {
				kept[intern.String(k)] = slimManagedFields(entries)
			}
		default:
			kept[intern.String(k)] = intern.JSON(v)
		}
	}
	ann, _ := kept["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		kept["annotations"] = ann
	}
	ann[SlimAnnotation] = "true"
	out["metadata"] = kept
	if spec, ok := obj.Object["spec"].(map[string]any); ok {
		keptSpec := map[string]any{}
		for _, k := range []string{"replicas", "selector"} {
			if v, ok := spec[k]; ok {
				keptSpec[k] = intern.JSON(v)
			}
		}
		if len(keptSpec) > 0 {
			out["spec"] = keptSpec
		}
	}
	return &unstructured.Unstructured{Object: out}
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
			if v, ok := entry[k].(string); ok {
				kept[k] = intern.String(v)
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
