package typegen

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Document is an OpenAPI v3 document as an API server publishes it under /openapi/v3/...;
// only its component schemas are read.
type Document struct {
	// Components holds the schemas.
	Components Components `json:"components"`
}

// Components are the reusable parts of a Document.
type Components struct {
	// Schemas maps schema names ("io.k8s.api.apps.v1.Deployment") to JSON schemas.
	Schemas map[string]map[string]any `json:"schemas"`
}

const (
	refPrefix      = "#/components/schemas/"
	gvkExtension   = "x-kubernetes-group-version-kind"
	intOrString    = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	quantity       = "io.k8s.apimachinery.pkg.api.resource.Quantity"
	rawExtension   = "io.k8s.apimachinery.pkg.runtime.RawExtension"
	fieldsV1       = "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"
	maxSchemaDepth = 64
)

// keptFormats are the OpenAPI formats that CRD validation understands and that the template
// keeps; others (int-or-string, ...) are handled by shape or dropped.
var keptFormats = map[string]bool{
	"int32": true, "int64": true, "float": true, "double": true, "byte": true, "date-time": true,
}

// FindKind returns the name of the component schema of group, version and kind, found by its
// x-kubernetes-group-version-kind extension.
func (d Document) FindKind(group, version, kind string) (string, error) {
	var found []string
	for name, s := range d.Components.Schemas {
		gvks, _ := s[gvkExtension].([]any)
		for _, g := range gvks {
			m, _ := g.(map[string]any)
			if m["group"] == group && m["version"] == version && m["kind"] == kind {
				found = append(found, name)
			}
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no schema for group %q, version %q, kind %q in the OpenAPI document", group, version, kind)
	case 1:
		return found[0], nil
	default:
		sort.Strings(found)
		return "", fmt.Errorf("several schemas for group %q, version %q, kind %q: %s", group, version, kind, strings.Join(found, ", "))
	}
}

// TemplateSchema converts the target's OpenAPI schema into the structural schema of a federated
// template: the target object without its status. Descriptions and defaults are dropped (the
// members default the objects themselves), references are resolved, recursive types and
// free-form values become schemaless fields, and quantities accept any JSON value, as the API
// server does.
func TemplateSchema(doc Document, t Target) (*apiextv1.JSONSchemaProps, error) {
	name, err := doc.FindKind(t.Group, t.Version, t.Kind)
	if err != nil {
		return nil, err
	}
	c := converter{schemas: doc.Components.Schemas, visiting: map[string]bool{}}
	s, err := c.ref(name, 0)
	if err != nil {
		return nil, fmt.Errorf("failed to convert the schema of %s: %w", name, err)
	}
	delete(s.Properties, "status")
	s.Required = removeString(s.Required, "status")
	return &s, nil
}

type converter struct {
	schemas  map[string]map[string]any
	visiting map[string]bool
}

func preserveUnknown() apiextv1.JSONSchemaProps {
	yes := true
	return apiextv1.JSONSchemaProps{XPreserveUnknownFields: &yes}
}

func freeFormObject() apiextv1.JSONSchemaProps {
	s := preserveUnknown()
	s.Type = "object"
	return s
}

func (c *converter) ref(name string, depth int) (apiextv1.JSONSchemaProps, error) {
	switch name {
	case intOrString:
		return apiextv1.JSONSchemaProps{
			XIntOrString: true,
			AnyOf:        []apiextv1.JSONSchemaProps{{Type: "integer"}, {Type: "string"}},
		}, nil
	case quantity:
		// Quantities are written as strings or as plain numbers (cpu: 0.5).
		return preserveUnknown(), nil
	case rawExtension, fieldsV1:
		return freeFormObject(), nil
	}
	if c.visiting[name] || depth > maxSchemaDepth {
		return freeFormObject(), nil
	}
	s, ok := c.schemas[name]
	if !ok {
		return apiextv1.JSONSchemaProps{}, fmt.Errorf("schema %s is referenced but not in the document", name)
	}
	c.visiting[name] = true
	defer delete(c.visiting, name)
	return c.convert(s, depth+1)
}

func (c *converter) convert(s map[string]any, depth int) (apiextv1.JSONSchemaProps, error) {
	if ref, ok := s["$ref"].(string); ok {
		return c.ref(strings.TrimPrefix(ref, refPrefix), depth)
	}
	if allOf, ok := s["allOf"].([]any); ok && len(allOf) == 1 {
		inner, ok := allOf[0].(map[string]any)
		if !ok {
			return apiextv1.JSONSchemaProps{}, fmt.Errorf("allOf holds %T, not a schema", allOf[0])
		}
		return c.convert(inner, depth)
	}
	if s["format"] == "int-or-string" || s["x-kubernetes-int-or-string"] == true {
		return c.ref(intOrString, depth)
	}
	typ, _ := s["type"].(string)
	if typ == "" {
		if _, ok := s["properties"]; ok {
			typ = "object"
		} else {
			return preserveUnknown(), nil
		}
	}
	out := apiextv1.JSONSchemaProps{Type: typ}
	if f, ok := s["format"].(string); ok && keptFormats[f] {
		out.Format = f
	}
	if n, ok := s["nullable"].(bool); ok {
		out.Nullable = n
	}
	if v, ok := s["x-kubernetes-preserve-unknown-fields"].(bool); ok && v {
		out.XPreserveUnknownFields = &v
	}
	if v, ok := s["x-kubernetes-embedded-resource"].(bool); ok {
		out.XEmbeddedResource = v
	}
	if enum, ok := s["enum"].([]any); ok {
		for _, e := range enum {
			b, err := json.Marshal(e)
			if err != nil {
				return out, fmt.Errorf("failed to encode enum value: %w", err)
			}
			out.Enum = append(out.Enum, apiextv1.JSON{Raw: b})
		}
	}
	switch typ {
	case "object":
		props, _ := s["properties"].(map[string]any)
		if len(props) > 0 {
			out.Properties = make(map[string]apiextv1.JSONSchemaProps, len(props))
			for name, p := range props {
				pm, ok := p.(map[string]any)
				if !ok {
					return out, fmt.Errorf("property %s holds %T, not a schema", name, p)
				}
				ps, err := c.convert(pm, depth+1)
				if err != nil {
					return out, fmt.Errorf("property %s: %w", name, err)
				}
				out.Properties[name] = ps
			}
			if req, ok := s["required"].([]any); ok {
				for _, r := range req {
					if name, ok := r.(string); ok {
						if _, has := out.Properties[name]; has {
							out.Required = append(out.Required, name)
						}
					}
				}
			}
		}
		switch ap := s["additionalProperties"].(type) {
		case map[string]any:
			as, err := c.convert(ap, depth+1)
			if err != nil {
				return out, fmt.Errorf("additionalProperties: %w", err)
			}
			out.AdditionalProperties = &apiextv1.JSONSchemaPropsOrBool{Allows: true, Schema: &as}
		case bool:
			if ap && len(out.Properties) == 0 {
				return freeFormObject(), nil
			}
		}
		if len(out.Properties) == 0 && out.AdditionalProperties == nil {
			yes := true
			out.XPreserveUnknownFields = &yes
		}
	case "array":
		items, ok := s["items"].(map[string]any)
		var is apiextv1.JSONSchemaProps
		if ok {
			var err error
			if is, err = c.convert(items, depth+1); err != nil {
				return out, fmt.Errorf("items: %w", err)
			}
		} else {
			is = preserveUnknown()
		}
		out.Items = &apiextv1.JSONSchemaPropsOrArray{Schema: &is}
	}
	return out, nil
}

func removeString(list []string, s string) []string {
	out := list[:0:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

// Prune returns a copy of the document with only the schemas that the named kinds reach,
// and without descriptions: what a snapshot of an API server's schemas needs to keep.
func Prune(doc Document, roots []string) Document {
	out := Document{Components: Components{Schemas: map[string]map[string]any{}}}
	var visit func(name string)
	visit = func(name string) {
		if _, done := out.Components.Schemas[name]; done {
			return
		}
		s, ok := doc.Components.Schemas[name]
		if !ok {
			return
		}
		stripped, _ := stripDescriptions(s).(map[string]any)
		out.Components.Schemas[name] = stripped
		for _, ref := range refsOf(s) {
			visit(ref)
		}
	}
	for _, r := range roots {
		visit(r)
	}
	return out
}

func stripDescriptions(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			if k == "description" {
				if _, isString := val.(string); isString {
					continue
				}
			}
			m[k] = stripDescriptions(val)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, val := range x {
			l[i] = stripDescriptions(val)
		}
		return l
	default:
		return v
	}
}

func refsOf(v any) []string {
	var refs []string
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "$ref" {
				refs = append(refs, strings.TrimPrefix(s, refPrefix))
				continue
			}
			refs = append(refs, refsOf(val)...)
		}
	case []any:
		for _, val := range x {
			refs = append(refs, refsOf(val)...)
		}
	}
	return refs
}
