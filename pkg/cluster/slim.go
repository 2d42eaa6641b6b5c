package cluster

import (
	"unique"

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
// SlimAnnotation. What it keeps is copied, with its strings interned (see intern) but for
// those that differ from copy to copy: a member holds thousands of copies whose label and
// annotation keys, namespaces, names and applied hashes are the same strings, and one copy of
// each is enough.
func Slim(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := map[string]any{}
	for _, k := range []string{"apiVersion", "kind"} {
		if v, ok := obj.Object[k].(string); ok {
			out[k] = intern(v)
		}
	}
	if st, ok := obj.Object["status"]; ok {
		out["status"] = compact(st)
	}
	meta, _ := obj.Object["metadata"].(map[string]any)
	kept := make(map[string]any, len(meta)+1)
	for k, v := range meta {
		switch k {
		case "uid", "resourceVersion", "creationTimestamp":
			kept[intern(k)] = v
		case "managedFields":
			if entries, ok := v.([]any); ok {
				kept[intern(k)] = slimManagedFields(entries)
			}
		default:
			kept[intern(k)] = compact(v)
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
				keptSpec[k] = compact(v)
			}
		}
		if len(keptSpec) > 0 {
			out["spec"] = keptSpec
		}
	}
	return &unstructured.Unstructured{Object: out}
}

// compact is a deep copy of the JSON value v with its strings interned.
func compact(v any) any {
	switch v := v.(type) {
	case string:
		return intern(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[intern(k)] = compact(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = compact(e)
		}
		return out
	default:
		return v
	}
}

// intern returns the one copy of s that every slim copy shares; it is dropped once no copy
// holds it.
func intern(s string) string { return unique.Make(s).Value() }

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
				kept[k] = intern(v)
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
