package typegen

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/utils/ptr"
)

// doc builds a Document from JSON schemas, keyed by name.
func doc(t *testing.T, schemas map[string]string) Document {
	t.Helper()
	d := Document{Components: Components{Schemas: map[string]map[string]any{}}}
	for name, s := range schemas {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("bad schema %s: %v", name, err)
		}
		d.Components.Schemas[name] = m
	}
	return d
}

const widgetGVK = `"x-kubernetes-group-version-kind": [{"group": "example.io", "version": "v1", "kind": "Widget"}]`

var widget = Target{Group: "example.io", Version: "v1", Kind: "Widget", Plural: "widgets", Namespaced: true}

func TestTemplateSchema(t *testing.T) {
	intOrStr := apiextv1.JSONSchemaProps{XIntOrString: true, AnyOf: []apiextv1.JSONSchemaProps{{Type: "integer"}, {Type: "string"}}}
	freeForm := apiextv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}
	cases := []struct {
		name    string
		schemas map[string]string
		want    *apiextv1.JSONSchemaProps
		wantErr bool
	}{
		{
			name: "references are resolved, status, descriptions and defaults dropped, required kept",
			schemas: map[string]string{
				"io.example.v1.Widget": `{"type": "object", "description": "d", "required": ["spec", "status"], ` + widgetGVK + `,
					"properties": {"spec": {"allOf": [{"$ref": "#/components/schemas/io.example.v1.Spec"}], "default": {}},
					               "status": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}}`,
				"io.example.v1.Spec": `{"type": "object", "required": ["size", "missing"], "properties": {
					"size": {"type": "integer", "format": "int32", "default": 3, "description": "d"},
					"mode": {"type": "string", "enum": ["A", "B"]},
					"when": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Time"}}}`,
				"io.k8s.apimachinery.pkg.apis.meta.v1.Time": `{"type": "string", "format": "date-time"}`,
			},
			want: &apiextv1.JSONSchemaProps{Type: "object", Required: []string{"spec"}, Properties: map[string]apiextv1.JSONSchemaProps{
				"spec": {Type: "object", Required: []string{"size"}, Properties: map[string]apiextv1.JSONSchemaProps{
					"size": {Type: "integer", Format: "int32"},
					"mode": {Type: "string", Enum: []apiextv1.JSON{{Raw: []byte(`"A"`)}, {Raw: []byte(`"B"`)}}},
					"when": {Type: "string", Format: "date-time"},
				}},
			}},
		},
		{
			name: "int-or-string, quantities and raw extensions get structural shapes",
			schemas: map[string]string{
				"io.example.v1.Widget": `{"type": "object", ` + widgetGVK + `, "properties": {
					"port": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
					"inlinePort": {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]},
					"cpu": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"},
					"raw": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.runtime.RawExtension"},
					"limits": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"}},
					"anything": {}}}`,
			},
			want: &apiextv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{
				"port":       intOrStr,
				"inlinePort": intOrStr,
				"cpu":        {XPreserveUnknownFields: ptr.To(true)},
				"raw":        freeForm,
				"limits": {Type: "object", AdditionalProperties: &apiextv1.JSONSchemaPropsOrBool{
					Allows: true, Schema: &apiextv1.JSONSchemaProps{XPreserveUnknownFields: ptr.To(true)},
				}},
				"anything": {XPreserveUnknownFields: ptr.To(true)},
			}},
		},
		{
			name: "a recursive type becomes a free-form object where it recurs",
			schemas: map[string]string{
				"io.example.v1.Widget": `{"type": "object", ` + widgetGVK + `, "properties": {"node": {"$ref": "#/components/schemas/io.example.v1.Node"}}}`,
				"io.example.v1.Node":   `{"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/io.example.v1.Node"}}}}`,
			},
			want: &apiextv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{
				"node": {Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{
					"children": {Type: "array", Items: &apiextv1.JSONSchemaPropsOrArray{Schema: &freeForm}},
				}},
			}},
		},
		{
			name: "an object without properties keeps unknown fields",
			schemas: map[string]string{
				"io.example.v1.Widget": `{"type": "object", ` + widgetGVK + `, "properties": {"free": {"type": "object"}}}`,
			},
			want: &apiextv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{"free": freeForm}},
		},
		{
			name: "a dangling reference is an error",
			schemas: map[string]string{
				"io.example.v1.Widget": `{"type": "object", ` + widgetGVK + `, "properties": {"x": {"$ref": "#/components/schemas/io.example.v1.Gone"}}}`,
			},
			wantErr: true,
		},
		{
			name:    "a kind that is not in the document is an error",
			schemas: map[string]string{"io.example.v1.Other": `{"type": "object"}`},
			wantErr: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TemplateSchema(doc(t, tc.schemas), widget)
			if (err != nil) != tc.wantErr {
				t.Fatalf("TemplateSchema() error = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("TemplateSchema() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPruneKeepsReachableSchemasWithoutDescriptions(t *testing.T) {
	d := doc(t, map[string]string{
		"io.example.v1.Widget": `{"type": "object", "description": "gone", ` + widgetGVK + `, "properties": {"spec": {"$ref": "#/components/schemas/io.example.v1.Spec"}, "description": {"type": "string", "description": "gone"}}}`,
		"io.example.v1.Spec":   `{"type": "object", "properties": {"n": {"type": "integer"}}}`,
		"io.example.v1.Unused": `{"type": "object"}`,
	})
	got := Prune(d, []string{"io.example.v1.Widget"})
	want := doc(t, map[string]string{
		"io.example.v1.Widget": `{"type": "object", ` + widgetGVK + `, "properties": {"spec": {"$ref": "#/components/schemas/io.example.v1.Spec"}, "description": {"type": "string"}}}`,
		"io.example.v1.Spec":   `{"type": "object", "properties": {"n": {"type": "integer"}}}`,
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Prune() mismatch (-want +got):\n%s", diff)
	}
}

func TestFindKindRefusesAmbiguousKinds(t *testing.T) {
	d := doc(t, map[string]string{
		"io.example.v1.Widget":  `{"type": "object", ` + widgetGVK + `}`,
		"io.example.v1.Widget2": `{"type": "object", ` + widgetGVK + `}`,
	})
	if _, err := d.FindKind("example.io", "v1", "Widget"); err == nil {
		t.Error("FindKind() found one of two schemas for the same kind, want an error")
	}
}
