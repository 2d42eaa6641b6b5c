package overrides

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// widgetSpec is the spec of the template that TestRenderMissingPaths patches: a list of
// scalars, a list of objects, an object whose key needs escaping, a null and a string.
const widgetSpec = `{"list":[1,2,3],"objs":[{"a":1}],"obj":{"a/b":1},"nul":null,"str":"s"}`

// decodeJSON decodes a JSON literal as Render's results hold it (integers as int64).
func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := utiljson.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("failed to decode test literal %s: %v", s, err)
	}
	return m
}

// widgetInput is a namespaced Widget whose template has metadata without labels and the
// widgetSpec spec.
func widgetInput(t *testing.T, overrides ...typesv1beta1.Override) Input {
	t.Helper()
	return Input{
		Template:   decodeJSON(t, `{"metadata":{},"spec":`+widgetSpec+`}`),
		APIVersion: "example.io/v1",
		Kind:       "Widget",
		Name:       "w",
		Namespace:  "ns",
		Namespaced: true,
		Overrides:  overrides,
	}
}

// widget builds the expected rendered Widget from its spec, the labels besides the managed
// one, and further top-level fields.
func widget(t *testing.T, spec string, labels map[string]any, top map[string]any) map[string]any {
	t.Helper()
	allLabels := map[string]any{contract.ManagedLabel: contract.ManagedLabelValue}
	maps.Copy(allLabels, labels)
	obj := map[string]any{
		"apiVersion": "example.io/v1",
		"kind":       "Widget",
		"metadata":   map[string]any{"name": "w", "namespace": "ns", "labels": allLabels},
		"spec":       decodeJSON(t, spec),
	}
	maps.Copy(obj, top)
	return obj
}

// TestRenderMissingPaths pins what each op does when its path, its parent or its array index
// does not exist. The expectations are those of the JSON patch library KubeFed v0.10 applies
// overrides with (evanphx/json-patch v4.12, negative indices allowed), observed case by case:
// a replace of a missing member of an existing object creates it as add would, and every
// other missing path fails as RFC 6902 says.
func TestRenderMissingPaths(t *testing.T) {
	v := map[string]any{"k": "v"}
	cases := []struct {
		name string
		in   []typesv1beta1.Override
		// wantSpec is the rendered spec as JSON; empty means the template's spec unchanged.
		wantSpec string
		// wantLabels are the rendered labels besides the managed one.
		wantLabels map[string]any
		// wantTop are top-level fields the patch adds.
		wantTop map[string]any
		// wantFail is the failing override; nil means Render succeeds.
		wantFail *OverrideError
	}{
		// Replace.
		{
			name:       "replace of a missing key in an existing object creates it (an op-less labels override)",
			in:         []typesv1beta1.Override{ov("", "/metadata/labels", map[string]string{"team": "a"})},
			wantLabels: map[string]any{"team": "a"},
		},
		{
			name:       "replace of missing labels, then of a missing label inside them",
			in:         []typesv1beta1.Override{ov("replace", "/metadata/labels", map[string]string{"a": "b"}), ov("replace", "/metadata/labels/c", "d")},
			wantLabels: map[string]any{"a": "b", "c": "d"},
		},
		{
			name:    "replace of a missing top-level key creates it",
			in:      []typesv1beta1.Override{ov("replace", "/data", v)},
			wantTop: map[string]any{"data": map[string]any{"k": "v"}},
		},
		{
			name:     "replace of a missing key in an object inside a list creates it",
			in:       []typesv1beta1.Override{ov("replace", "/spec/objs/0/new", 1)},
			wantSpec: `{"list":[1,2,3],"objs":[{"a":1,"new":1}],"obj":{"a/b":1},"nul":null,"str":"s"}`,
		},
		{
			name:     "replace of a missing key below a negative index creates it",
			in:       []typesv1beta1.Override{ov("replace", "/spec/objs/-1/new", 1)},
			wantSpec: `{"list":[1,2,3],"objs":[{"a":1,"new":1}],"obj":{"a/b":1},"nul":null,"str":"s"}`,
		},
		{
			name:     "replace of a missing escaped key creates the unescaped key",
			in:       []typesv1beta1.Override{ov("replace", "/spec/obj/a~1c", 1)},
			wantSpec: `{"list":[1,2,3],"objs":[{"a":1}],"obj":{"a/b":1,"a/c":1},"nul":null,"str":"s"}`,
		},
		{
			name:     "replace below an object an earlier override added creates the key",
			in:       []typesv1beta1.Override{ov("add", "/spec/foo", map[string]any{}), ov("replace", "/spec/foo/bar", 1)},
			wantSpec: `{"list":[1,2,3],"objs":[{"a":1}],"obj":{"a/b":1},"nul":null,"str":"s","foo":{"bar":1}}`,
		},
		{
			name:     "replace of a key holding null sets it",
			in:       []typesv1beta1.Override{ov("replace", "/spec/nul", 1)},
			wantSpec: `{"list":[1,2,3],"objs":[{"a":1}],"obj":{"a/b":1},"nul":1,"str":"s"}`,
		},
		{
			name:     "replace below a missing parent fails",
			in:       []typesv1beta1.Override{ov("replace", "/spec/foo/bar", v)},
			wantFail: &OverrideError{Index: 0, Op: "replace", Path: "/spec/foo/bar"},
		},
		{
			name:     "replace below a null fails",
			in:       []typesv1beta1.Override{ov("replace", "/spec/nul/x", v)},
			wantFail: &OverrideError{Index: 0, Op: "replace", Path: "/spec/nul/x"},
		},
		{
			name:     "replace below a string fails",
			in:       []typesv1beta1.Override{ov("replace", "/spec/str/x", v)},
			wantFail: &OverrideError{Index: 0, Op: "replace", Path: "/spec/str/x"},
		},
		{
			name:     "replace below a list index past the end fails",
			in:       []typesv1beta1.Override{ov("replace", "/spec/objs/1/new", 1)},
			wantFail: &OverrideError{Index: 0, Op: "replace", Path: "/spec/objs/1/new"},
		},
		{
			name:     "replace of the list end marker fails",
			in:       []typesv1beta1.Override{ov("replace", "/spec/list/-", v)},
			wantFail: &OverrideError{Index: 0, Op: "replace", Path: "/spec/list/-"},
		},
		{
			name:     "replace at the list's length fails",
			in:       []typesv1beta1.Override{ov("replace", "/spec/list/3", v)},
			wantFail: &OverrideError{Index: 0, Op: "replace", Path: "/spec/list/3"},
		},
		{
			name:     "replace past the list's end fails",
			in:       []typesv1beta1.Override{ov("replace", "/spec/list/4", v)},
			wantFail: &OverrideError{Index: 0, Op: "replace", Path: "/spec/list/4"},
		},
		{
			name:     "replace at index -1 replaces the last item",
			in:       []typesv1beta1.Override{ov("replace", "/spec/list/-1", v)},
			wantSpec: `{"list":[1,2,{"k":"v"}],"objs":[{"a":1}],"obj":{"a/b":1},"nul":null,"str":"s"}`,
		},
		{
			name:     "replace at minus the length replaces the first item",
			in:       []typesv1beta1.Override{ov("replace", "/spec/list/-3", v)},
			wantSpec: `{"list":[{"k":"v"},2,3],"objs":[{"a":1}],"obj":{"a/b":1},"nul":null,"str":"s"}`,
		},
		{
			name:     "replace at a negative index before the start fails",
			in:       []typesv1beta1.Override{ov("replace", "/spec/list/-4", v)},
			wantFail: &OverrideError{Index: 0, Op: "replace", Path: "/spec/list/-4"},
		},
		{
			name:     "replace in a missing list fails",
			in:       []typesv1beta1.Override{ov("replace", "/spec/missing/0", v)},
			wantFail: &OverrideError{Index: 0, Op: "replace", Path: "/spec/missing/0"},
		},
		{
			name:     "a later failure after a created key names the later override",
			in:       []typesv1beta1.Override{ov("", "/metadata/labels", map[string]string{"a": "b"}), ov("remove", "/spec/foo", nil)},
			wantFail: &OverrideError{Index: 1, Op: "remove", Path: "/spec/foo"},
		},

		// Add.
		{
			name:       "add of a missing key creates it",
			in:         []typesv1beta1.Override{ov("add", "/metadata/labels", map[string]string{"team": "a"})},
			wantLabels: map[string]any{"team": "a"},
		},
		{
			name:     "add below a missing parent fails: parents are not created",
			in:       []typesv1beta1.Override{ov("add", "/spec/foo/bar", v)},
			wantFail: &OverrideError{Index: 0, Op: "add", Path: "/spec/foo/bar"},
		},
		{
			name:     "add at the list end marker appends",
			in:       []typesv1beta1.Override{ov("add", "/spec/list/-", 4)},
			wantSpec: `{"list":[1,2,3,4],"objs":[{"a":1}],"obj":{"a/b":1},"nul":null,"str":"s"}`,
		},
		{
			name:     "add at the list's length appends",
			in:       []typesv1beta1.Override{ov("add", "/spec/list/3", 4)},
			wantSpec: `{"list":[1,2,3,4],"objs":[{"a":1}],"obj":{"a/b":1},"nul":null,"str":"s"}`,
		},
		{
			name:     "add past the list's end fails",
			in:       []typesv1beta1.Override{ov("add", "/spec/list/4", 4)},
			wantFail: &OverrideError{Index: 0, Op: "add", Path: "/spec/list/4"},
		},
		{
			name:     "add at index -1 appends, counting from the end of the longer list",
			in:       []typesv1beta1.Override{ov("add", "/spec/list/-1", 4)},
			wantSpec: `{"list":[1,2,3,4],"objs":[{"a":1}],"obj":{"a/b":1},"nul":null,"str":"s"}`,
		},
		{
			name:     "add at minus the length plus one inserts first",
			in:       []typesv1beta1.Override{ov("add", "/spec/list/-4", 0)},
			wantSpec: `{"list":[0,1,2,3],"objs":[{"a":1}],"obj":{"a/b":1},"nul":null,"str":"s"}`,
		},
		{
			name:     "add at a negative index before the start fails",
			in:       []typesv1beta1.Override{ov("add", "/spec/list/-5", 0)},
			wantFail: &OverrideError{Index: 0, Op: "add", Path: "/spec/list/-5"},
		},
		{
			name:     "add to a missing list fails",
			in:       []typesv1beta1.Override{ov("add", "/spec/missing/-", 1)},
			wantFail: &OverrideError{Index: 0, Op: "add", Path: "/spec/missing/-"},
		},

		// Remove.
		{
			name:     "remove of a missing key fails",
			in:       []typesv1beta1.Override{ov("remove", "/metadata/labels", nil)},
			wantFail: &OverrideError{Index: 0, Op: "remove", Path: "/metadata/labels"},
		},
		{
			name:     "remove below a missing parent fails",
			in:       []typesv1beta1.Override{ov("remove", "/spec/foo/bar", nil)},
			wantFail: &OverrideError{Index: 0, Op: "remove", Path: "/spec/foo/bar"},
		},
		{
			name:     "remove of a key holding null removes it",
			in:       []typesv1beta1.Override{ov("remove", "/spec/nul", nil)},
			wantSpec: `{"list":[1,2,3],"objs":[{"a":1}],"obj":{"a/b":1},"str":"s"}`,
		},
		{
			name:     "remove of the list end marker fails",
			in:       []typesv1beta1.Override{ov("remove", "/spec/list/-", nil)},
			wantFail: &OverrideError{Index: 0, Op: "remove", Path: "/spec/list/-"},
		},
		{
			name:     "remove at the list's length fails",
			in:       []typesv1beta1.Override{ov("remove", "/spec/list/3", nil)},
			wantFail: &OverrideError{Index: 0, Op: "remove", Path: "/spec/list/3"},
		},
		{
			name:     "remove at index -1 removes the last item",
			in:       []typesv1beta1.Override{ov("remove", "/spec/list/-1", nil)},
			wantSpec: `{"list":[1,2],"objs":[{"a":1}],"obj":{"a/b":1},"nul":null,"str":"s"}`,
		},
		{
			name:     "remove at a negative index before the start fails",
			in:       []typesv1beta1.Override{ov("remove", "/spec/list/-4", nil)},
			wantFail: &OverrideError{Index: 0, Op: "remove", Path: "/spec/list/-4"},
		},
		{
			name:     "remove in a missing list fails",
			in:       []typesv1beta1.Override{ov("remove", "/spec/missing/0", nil)},
			wantFail: &OverrideError{Index: 0, Op: "remove", Path: "/spec/missing/0"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(widgetInput(t, tc.in...))
			if tc.wantFail != nil {
				if !errors.Is(err, ErrPatchFailed) {
					t.Fatalf("Render() error = %v, want one wrapping %v", err, ErrPatchFailed)
				}
				var oe *OverrideError
				if !errors.As(err, &oe) {
					t.Fatalf("Render() error = %v, want an *OverrideError", err)
				}
				if diff := cmp.Diff(*tc.wantFail, OverrideError{Index: oe.Index, Op: oe.Op, Path: oe.Path}); diff != "" {
					t.Errorf("failing override mismatch (-want +got):\n%s", diff)
				}
				if !strings.Contains(err.Error(), tc.wantFail.Path) {
					t.Errorf("Render() error %q does not name the path %q", err, tc.wantFail.Path)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render() error = %v", err)
			}
			spec := tc.wantSpec
			if spec == "" {
				spec = widgetSpec
			}
			if diff := cmp.Diff(widget(t, spec, tc.wantLabels, tc.wantTop), got.Object.Object); diff != "" {
				t.Errorf("Render() object mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderMissingPathsKeepsJSONTypes checks that a key a replace created holds the same
// JSON value an add would have written.
func TestRenderMissingPathsKeepsJSONTypes(t *testing.T) {
	value := map[string]any{"n": 1, "f": 1.5, "s": "x", "b": true, "l": []any{1, "a"}, "z": nil}
	viaReplace, err := Render(widgetInput(t, ov("replace", "/spec/new", value)))
	if err != nil {
		t.Fatalf("Render() with replace error = %v", err)
	}
	viaAdd, err := Render(widgetInput(t, ov("add", "/spec/new", value)))
	if err != nil {
		t.Fatalf("Render() with add error = %v", err)
	}
	if diff := cmp.Diff(viaAdd.Object.Object, viaReplace.Object.Object); diff != "" {
		t.Errorf("replace and add of a missing key differ (-add +replace):\n%s", diff)
	}
	if _, err := json.Marshal(viaReplace.Object.Object); err != nil {
		t.Errorf("the rendered object cannot be encoded: %v", err)
	}
}
