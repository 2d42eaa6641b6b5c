package federate

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"sort"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/pkg/overrides"
)

// Matches tells whether a member object already has every field of the desired object with
// the desired value, so that applying the desired object would change nothing that the
// control plane manages. Fields that only the member object has (set by the member's API
// server, by its controllers or by other users) do not matter. Lists match element by
// element, with the same length. A null desired value matches anything (applying it sets
// nothing); empty and zero desired values match a missing field, which is how the API server
// stores them. Quantities match by value ("0.5" and "500m") under resource lists (requests,
// limits, hard, capacity, overhead) and sizeLimit, and wherever the template has a number
// that the server turned into a quantity string. A Secret's stringData is compared as the
// data it becomes.
func Matches(desired, actual *unstructured.Unstructured) bool {
	return subset(asStored(desired), actual.Object, false)
}

// Drift lists, as JSON pointers sorted by path, the fields of the desired object that the
// member object does not hold as Matches wants them: the fields that applying the desired object
// would change. It is empty when Matches is true.
func Drift(desired, actual *unstructured.Unstructured) []string {
	var out []string
	drift(asStored(desired), actual.Object, false, "", &out)
	return out
}

// drift adds to out the paths below path where got is not as subset wants want.
func drift(want, got any, quantities bool, path string, out *[]string) {
	if subset(want, got, quantities) {
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			drift(w[k], g[k], quantities || quantityFields[k], path+"/"+overrides.EscapePointerToken(k), out)
		}
		return
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			break
		}
		for i := range w {
			drift(w[i], g[i], quantities, fmt.Sprintf("%s/%d", path, i), out)
		}
		return
	}
	if path == "" {
		path = "/"
	}
	*out = append(*out, path)
}

// quantityFields are the keys under which values are resource quantities.
var quantityFields = map[string]bool{"requests": true, "limits": true, "hard": true, "capacity": true, "overhead": true, "sizeLimit": true}

// subset reports whether every field of want is in got with the same value; quantities tells
// whether the values are resource quantities.
func subset(want, got any, quantities bool) bool {
	switch w := want.(type) {
	case nil:
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return got == nil && len(w) == 0
		}
		for k, wv := range w {
			gv, found := g[k]
			if !found {
				if !empty(wv) {
					return false
				}
				continue
			}
			if !subset(wv, gv, quantities || quantityFields[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok {
			return got == nil && len(w) == 0
		}
		if len(w) != len(g) {
			return false
		}
		for i := range w {
			if !subset(w[i], g[i], quantities) {
				return false
			}
		}
		return true
	default:
		if scalarEqual(want, got) {
			return true
		}
		if _, isNumber := number(want); !quantities && !isNumber {
			return false
		}
		return quantityEqual(want, got)
	}
}

// empty tells whether a desired value means the same as a missing field.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	case bool:
		return !v
	case string:
		return v == ""
	}
	n, ok := number(v)
	return ok && n == 0
}

// scalarEqual compares JSON scalars, treating integer and floating-point numbers of the same
// value as equal.
func scalarEqual(a, b any) bool {
	if ia, ok := a.(int64); ok {
		if ib, ok := b.(int64); ok {
			return ia == ib
		}
	}
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// quantityEqual tells whether two scalars are the same resource quantity written differently.
// The member's API server keeps the canonical form ("500m") of what the template says ("0.5"
// or 0.5).
func quantityEqual(want, got any) bool {
	gs, ok := got.(string)
	if !ok {
		return false
	}
	var ws string
	switch w := want.(type) {
	case string:
		ws = w
	case int64, int, int32, float64:
		ws = fmt.Sprint(w)
	default:
		return false
	}
	wq, err := resource.ParseQuantity(ws)
	if err != nil {
		return false
	}
	gq, err := resource.ParseQuantity(gs)
	if err != nil {
		return false
	}
	return wq.Cmp(gq) == 0
}

// asStored is obj's content as the API server stores it: a Secret's stringData folded into its
// data, and any other object as it is (not copied).
func asStored(obj *unstructured.Unstructured) map[string]any {
	if obj.GetKind() == "Secret" && obj.GetAPIVersion() == "v1" {
		return secretAsStored(obj.Object)
	}
	return obj.Object
}

// secretAsStored returns the Secret with stringData folded into data, base64-encoded, as the
// API server stores it.
func secretAsStored(obj map[string]any) map[string]any {
	sd, ok := obj["stringData"].(map[string]any)
	if !ok {
		return obj
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "stringData" {
			out[k] = v
		}
	}
	data := map[string]any{}
	if d, ok := obj["data"].(map[string]any); ok {
		for k, v := range d {
			data[k] = v
		}
	}
	for k, v := range sd {
		if s, ok := v.(string); ok {
			data[k] = base64.StdEncoding.EncodeToString([]byte(s))
		}
	}
	out["data"] = data
	return out
}
