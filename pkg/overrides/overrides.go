package overrides

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// The operations an override may use. An empty op means OpReplace.
const (
	// OpAdd adds a value, or replaces a member of an object, as RFC 6902 "add" does.
	OpAdd = "add"
	// OpRemove removes the value at the path, which must exist.
	OpRemove = "remove"
	// OpReplace replaces the value at the path. As in KubeFed, a missing member of an existing
	// object is created; any other missing path fails.
	OpReplace = "replace"
)

// ProtectedPaths are the JSON pointers that overrides may not target: they carry the identity
// that ties a member object to its federated object. The CRD refuses them too; Render checks
// again, and also refuses a patch that changes these fields by any other path.
var ProtectedPaths = []string{"/metadata/name", "/metadata/namespace", "/metadata/generateName", "/kind"}

// Errors that Render wraps, so that callers can tell the kind of mistake with errors.Is.
var (
	// ErrInvalidInput means the identity given to Render (name, namespace, kind, apiVersion) is
	// incomplete.
	ErrInvalidInput = errors.New("invalid render input")
	// ErrInvalidTemplate means the template cannot be encoded or its metadata is not an object.
	ErrInvalidTemplate = errors.New("invalid template")
	// ErrUnsupportedOp means an override's op is not add, remove, replace or empty.
	ErrUnsupportedOp = errors.New("unsupported op")
	// ErrInvalidPath means an override's path is not a JSON pointer starting with a slash.
	ErrInvalidPath = errors.New("invalid path")
	// ErrProtectedPath means an override targets, or its patch changes, a protected field.
	ErrProtectedPath = errors.New("protected path")
	// ErrInvalidValue means an override's value is not valid JSON.
	ErrInvalidValue = errors.New("invalid value")
	// ErrPatchFailed means the patch could not be applied to the object, for example because a
	// path to remove does not exist, a path's parent does not exist or an array index is out of
	// range.
	ErrPatchFailed = errors.New("patch does not apply")
	// ErrInvalidResult means the patched object is not a valid object, for example because its
	// labels are not a map of strings.
	ErrInvalidResult = errors.New("invalid patched object")
)

// Reason names the kind of a Warning. It is a CamelCase constant suitable for events.
type Reason string

// The reasons of Render's warnings.
const (
	// AnnotationsNotSupported means the template set metadata.annotations, which are dropped.
	AnnotationsNotSupported Reason = "AnnotationsNotSupported"
	// FinalizersNotSupported means the template set metadata.finalizers, which are dropped.
	FinalizersNotSupported Reason = "FinalizersNotSupported"
)

// Warning reports something Render changed in the template instead of failing.
type Warning struct {
	// Reason is a CamelCase constant naming the warning.
	Reason Reason
	// Message explains the warning in a stable sentence.
	Message string
}

// Input is the federated object and the overrides of the one cluster to render for.
type Input struct {
	// Template is the federated object's spec.template. It may be nil or empty, as for a
	// FederatedNamespace. Render never modifies it.
	Template map[string]any
	// APIVersion is the target type's apiVersion, such as apps/v1 or v1.
	APIVersion string
	// Kind is the target type's kind, such as Deployment.
	Kind string
	// Name is the federated object's name, which the rendered object always has.
	Name string
	// Namespace is the federated object's namespace. It is set on the rendered object only when
	// Namespaced is true.
	Namespace string
	// Namespaced tells whether the target type is namespaced.
	Namespaced bool
	// Overrides are the cluster's overrides, applied in order as one RFC 6902 patch with
	// KubeFed's leniencies (see Render). Use ForCluster to find them.
	Overrides []typesv1beta1.Override
	// Values, when set, fill in the templates in the string values of the object, once the
	// overrides are applied (see TemplateValues); nil leaves every value as it is.
	Values *TemplateValues
}

// Result is the rendered object for one cluster.
type Result struct {
	// Object is the object to apply to the cluster.
	Object *unstructured.Unstructured
	// Warnings lists what was dropped from the template, in a fixed order.
	Warnings []Warning
}

// OverrideError tells which override failed and why. It wraps one of this package's errors,
// and the patch library's error when the patch failed to apply. Its message does not name the
// cluster; callers add that.
type OverrideError struct {
	// Index is the position of the failing override in the cluster's list.
	Index int
	// Op is the override's operation, with an empty op shown as replace.
	Op string
	// Path is the override's path.
	Path string
	// Err is the cause.
	Err error
}

// Error describes the failing override and its cause.
func (e *OverrideError) Error() string {
	return fmt.Sprintf("failed to apply override %d (%s %s): %v", e.Index, e.Op, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *OverrideError) Unwrap() error { return e.Err }

// IsProtectedPath reports whether an override may not target path.
func IsProtectedPath(path string) bool { return slices.Contains(ProtectedPaths, path) }

// ForCluster returns the overrides for the named cluster, or nil when it has none. A cluster
// listed more than once is an error, as the API refuses it.
func ForCluster(all []typesv1beta1.ClusterOverrides, cluster string) ([]typesv1beta1.Override, error) {
	var found []typesv1beta1.Override
	seen := false
	for _, co := range all {
		if co.ClusterName != cluster {
			continue
		}
		if seen {
			return nil, fmt.Errorf("failed to find the overrides of cluster %q: it is listed more than once", cluster)
		}
		seen = true
		found = co.ClusterOverrides
	}
	return found, nil
}

// Render builds the object that one cluster receives.
//
// It copies the template, drops metadata.annotations and metadata.finalizers from it with a
// warning each (they may be set by overrides instead), forces metadata.name, apiVersion and
// kind, and sets metadata.namespace for namespaced targets or removes it otherwise. It then
// applies the cluster's overrides as one RFC 6902 patch in list order, an empty op meaning
// replace, and finally sets the managed label. The patch follows KubeFed where KubeFed departs
// from RFC 6902: a replace of a missing member of an existing object creates it, and a negative
// array index counts from the end. Overrides that target a protected path, and
// patches that change the name, namespace, generateName or kind by any path, are refused. With
// Values, the templates in the string values are then filled in. Any error concerns this
// cluster alone; when an override is at fault the error is an *OverrideError, and when a
// template value is, a *TemplateError.
func Render(in Input) (Result, error) {
	if err := in.validate(); err != nil {
		return Result{}, err
	}
	patch, err := encodePatch(in.Overrides)
	if err != nil {
		return Result{}, err
	}

	obj, err := copyTemplate(in.Template)
	if err != nil {
		return Result{}, err
	}
	meta, err := objectField(obj, "metadata")
	if err != nil {
		return Result{}, fmt.Errorf("failed to read the template: %w: %w", ErrInvalidTemplate, err)
	}
	var warnings []Warning
	if dropField(meta, "annotations") {
		warnings = append(warnings, Warning{
			Reason:  AnnotationsNotSupported,
			Message: "metadata.annotations is not propagated from the template, so that it does not fight controllers in member clusters; set annotations with an override instead",
		})
	}
	if dropField(meta, "finalizers") {
		warnings = append(warnings, Warning{
			Reason:  FinalizersNotSupported,
			Message: "metadata.finalizers is not propagated from the template, so that it does not fight controllers in member clusters; set finalizers with an override instead",
		})
	}
	meta["name"] = in.Name
	if in.Namespaced {
		meta["namespace"] = in.Namespace
	} else {
		delete(meta, "namespace")
	}
	obj["apiVersion"] = in.APIVersion
	obj["kind"] = in.Kind
	generateName, hasGenerateName := meta["generateName"]

	if patch != nil {
		obj, err = applyPatch(obj, patch, in.Overrides)
		if err != nil {
			return Result{}, err
		}
		if err := checkIdentity(obj, in, generateName, hasGenerateName); err != nil {
			return Result{}, err
		}
		if meta, err = objectField(obj, "metadata"); err != nil {
			return Result{}, fmt.Errorf("failed to read the patched object: %w: %w", ErrInvalidResult, err)
		}
	}

	if in.Values != nil {
		if err := fillIn(obj, in.Values); err != nil {
			return Result{}, err
		}
	}
	if err := setManagedLabel(meta); err != nil {
		return Result{}, err
	}
	return Result{Object: &unstructured.Unstructured{Object: obj}, Warnings: warnings}, nil
}

func (in Input) validate() error {
	switch {
	case in.Name == "":
		return fmt.Errorf("failed to render: %w: name is empty", ErrInvalidInput)
	case in.Kind == "":
		return fmt.Errorf("failed to render: %w: kind is empty", ErrInvalidInput)
	case in.APIVersion == "":
		return fmt.Errorf("failed to render: %w: apiVersion is empty", ErrInvalidInput)
	case in.Namespaced && in.Namespace == "":
		return fmt.Errorf("failed to render: %w: the target is namespaced but namespace is empty", ErrInvalidInput)
	}
	return nil
}

// patchOp is one RFC 6902 operation as it is encoded.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value,omitempty"`
}

var jsonNull = json.RawMessage("null")

// encodePatch checks every override and encodes them as one patch, or returns nil when there
// are none.
func encodePatch(overrides []typesv1beta1.Override) ([]byte, error) {
	if len(overrides) == 0 {
		return nil, nil
	}
	ops := make([]patchOp, len(overrides))
	for i, o := range overrides {
		op := opName(o.Op)
		fail := func(err error) error { return &OverrideError{Index: i, Op: op, Path: o.Path, Err: err} }
		switch op {
		case OpAdd, OpReplace, OpRemove:
		default:
			return nil, fail(fmt.Errorf("%w %q: must be add, remove or replace", ErrUnsupportedOp, o.Op))
		}
		if len(o.Path) == 0 || o.Path[0] != '/' {
			return nil, fail(fmt.Errorf("%w: must be a JSON pointer that starts with a slash", ErrInvalidPath))
		}
		if IsProtectedPath(o.Path) {
			return nil, fail(fmt.Errorf("%w: the object's name, namespace, generateName and kind cannot be overridden", ErrProtectedPath))
		}
		ops[i] = patchOp{Op: op, Path: o.Path}
		if op == OpRemove {
			continue
		}
		// A missing value and an explicit null decode alike; both add or set null.
		ops[i].Value = jsonNull
		if o.Value != nil && len(o.Value.JSON) > 0 {
			if !json.Valid(o.Value.JSON) {
				return nil, fail(fmt.Errorf("%w: not valid JSON", ErrInvalidValue))
			}
			ops[i].Value = o.Value.JSON
		}
	}
	b, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the overrides: %w", err)
	}
	return b, nil
}

func opName(op string) string {
	if op == "" {
		return OpReplace
	}
	return op
}

// copyTemplate returns a deep copy of the template as plain JSON values (maps, slices,
// strings, bools, int64 and float64), or an empty object for a nil template.
func copyTemplate(template map[string]any) (map[string]any, error) {
	if template == nil {
		return map[string]any{}, nil
	}
	b, err := json.Marshal(template)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the template: %w: %w", ErrInvalidTemplate, err)
	}
	obj := map[string]any{}
	if err := utiljson.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("failed to decode the template: %w: %w", ErrInvalidTemplate, err)
	}
	return obj, nil
}

// objectField returns obj[key] as an object, adding an empty one when it is missing or null.
func objectField(obj map[string]any, key string) (map[string]any, error) {
	switch v := obj[key].(type) {
	case map[string]any:
		return v, nil
	case nil:
		m := map[string]any{}
		obj[key] = m
		return m, nil
	default:
		return nil, fmt.Errorf("%s is a %T, not an object", key, v)
	}
}

// dropField removes m[key] and reports whether it held anything besides null or an empty
// object or list.
func dropField(m map[string]any, key string) bool {
	v, ok := m[key]
	if !ok {
		return false
	}
	delete(m, key)
	switch v := v.(type) {
	case nil:
		return false
	case map[string]any:
		return len(v) > 0
	case []any:
		return len(v) > 0
	default:
		return true
	}
}

// applyPatch applies the encoded patch to obj. When it fails, the operations are replayed
// one by one to name the first one that fails.
func applyPatch(obj map[string]any, patchJSON []byte, overrides []typesv1beta1.Override) (map[string]any, error) {
	patch, err := jsonpatch.DecodePatch(patchJSON)
	if err != nil {
		return nil, fmt.Errorf("failed to decode the overrides as a JSON patch: %w", err)
	}
	doc, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the object: %w", err)
	}
	opts := applyOptions()
	out, err := safeApply(patch, doc, opts)
	if err != nil {
		// The whole patch fails when an override is wrong, and also when a replace targets a
		// missing member of an object, which KubeFed creates. Applying the operations one by
		// one tells the two apart and names the failing override.
		if out, err = applyEach(patch, doc, opts, overrides); err != nil {
			return nil, err
		}
	}
	var patched any
	if err := utiljson.Unmarshal(out, &patched); err != nil {
		return nil, fmt.Errorf("failed to decode the patched object: %w: %w", ErrInvalidResult, err)
	}
	m, ok := patched.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("failed to decode the patched object: %w: it is a %T, not an object", ErrInvalidResult, patched)
	}
	return m, nil
}

// applyOptions are KubeFed's: RFC 6902 semantics, plus negative array indices counted from
// the end, as KubeFed's patch library allowed. Parents are not created on add and a missing
// path fails a remove, as in KubeFed; the one leniency these options cannot express, a
// replace that creates a missing member of an object, is handled by applyEach.
func applyOptions() *jsonpatch.ApplyOptions {
	opts := jsonpatch.NewApplyOptions()
	opts.SupportNegativeIndices = true
	opts.AllowMissingPathOnRemove = false
	opts.EnsurePathExistsOnAdd = false
	return opts
}

// safeApply applies the patch and turns a panic of the patch library into an error, so that
// no override can bring the controller down.
func safeApply(patch jsonpatch.Patch, doc []byte, opts *jsonpatch.ApplyOptions) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("the patch library failed: %v", r)
		}
	}()
	return patch.ApplyWithOptions(doc, opts)
}

// applyEach applies the patch one operation at a time. A replace whose path names a missing
// member of an existing object is applied as an add, since KubeFed's patch library creates the
// member in that case (for example an override of /metadata/labels without an op on a
// template that has no labels). Any other failure is returned as an *OverrideError naming the
// first override that fails.
func applyEach(patch jsonpatch.Patch, doc []byte, opts *jsonpatch.ApplyOptions, overrides []typesv1beta1.Override) ([]byte, error) {
	for i, op := range patch {
		next, err := safeApply(patch[i:i+1], doc, opts)
		if err != nil && op.Kind() == OpReplace && replaceCreates(doc, op) {
			next, err = safeApply(jsonpatch.Patch{asAdd(op)}, doc, opts)
		}
		if err != nil {
			return nil, &OverrideError{Index: i, Op: opName(overrides[i].Op), Path: overrides[i].Path, Err: fmt.Errorf("%w: %w", ErrPatchFailed, err)}
		}
		doc = next
	}
	return doc, nil
}

// pointerUnescaper turns the escapes of a JSON pointer's reference token back into the
// characters they stand for; pointerEscaper does the reverse.
var (
	pointerUnescaper = strings.NewReplacer("~1", "/", "~0", "~")
	pointerEscaper   = strings.NewReplacer("~", "~0", "/", "~1")
)

// EscapePointerToken escapes a map key as a reference token of a JSON pointer (RFC 6901).
func EscapePointerToken(key string) string { return pointerEscaper.Replace(key) }

// UnescapePointerToken is the map key that a reference token of a JSON pointer stands for.
func UnescapePointerToken(token string) string { return pointerUnescaper.Replace(token) }

// replaceCreates reports whether a replace of op's path in doc is one that KubeFed's patch
// library turns into the creation of a member: every token but the last leads through an
// existing object member or array item (a negative index counting from the end), and the last
// names a member that the object reached does not have.
func replaceCreates(doc []byte, op jsonpatch.Operation) bool {
	path, err := op.Path()
	if err != nil || !strings.HasPrefix(path, "/") {
		return false
	}
	var cur any
	if err := json.Unmarshal(doc, &cur); err != nil {
		return false
	}
	tokens := strings.Split(path[1:], "/")
	for _, token := range tokens[:len(tokens)-1] {
		token = pointerUnescaper.Replace(token)
		switch c := cur.(type) {
		case map[string]any:
			cur = c[token]
		case []any:
			i, err := strconv.Atoi(token)
			if err != nil {
				return false
			}
			if i < 0 {
				i += len(c)
			}
			if i < 0 || i >= len(c) {
				return false
			}
			cur = c[i]
		default:
			return false
		}
	}
	obj, ok := cur.(map[string]any)
	if !ok {
		return false
	}
	_, exists := obj[pointerUnescaper.Replace(tokens[len(tokens)-1])]
	return !exists
}

// asAdd returns op with its op changed to add.
func asAdd(op jsonpatch.Operation) jsonpatch.Operation {
	add := json.RawMessage(`"` + OpAdd + `"`)
	out := maps.Clone(op)
	out["op"] = &add
	return out
}

// checkIdentity refuses a patched object whose name, namespace, generateName or kind differs
// from what Render set before the patch.
func checkIdentity(obj map[string]any, in Input, generateName any, hadGenerateName bool) error {
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		return fmt.Errorf("failed to apply the overrides: %w: the patch replaced or removed metadata", ErrProtectedPath)
	}
	changed := func(field string) error {
		return fmt.Errorf("failed to apply the overrides: %w: the patch changed %s", ErrProtectedPath, field)
	}
	if meta["name"] != in.Name {
		return changed("metadata.name")
	}
	ns, hasNS := meta["namespace"]
	if in.Namespaced && ns != in.Namespace || !in.Namespaced && hasNS {
		return changed("metadata.namespace")
	}
	gn, hasGN := meta["generateName"]
	if hasGN != hadGenerateName || !jsonEqual(gn, generateName) {
		return changed("metadata.generateName")
	}
	if obj["kind"] != in.Kind {
		return changed("kind")
	}
	return nil
}

// jsonEqual compares two decoded JSON values by their encoding.
func jsonEqual(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// setManagedLabel sets the managed label, refusing labels that are not a map of strings.
func setManagedLabel(meta map[string]any) error {
	labels, err := objectField(meta, "labels")
	if err != nil {
		return fmt.Errorf("failed to set the managed label: %w: metadata.%w", ErrInvalidResult, err)
	}
	for k, v := range labels {
		if _, ok := v.(string); !ok {
			return fmt.Errorf("failed to set the managed label: %w: label %s is a %T, not a string", ErrInvalidResult, strconv.Quote(k), v)
		}
	}
	labels[contract.ManagedLabel] = contract.ManagedLabelValue
	return nil
}
