package overrides

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/template"
)

// TemplateValues are what the string values of an object rendered for one cluster may name,
// for a federated object that asks for it (contract.TemplateValuesAnnotation):
// {{ .cluster }}, {{ .labels.KEY }} and {{ .namespace }}.
type TemplateValues struct {
	// Cluster is the name of the cluster's registration, the KubeFedCluster.
	Cluster string
	// Labels are the KubeFedCluster's labels.
	Labels map[string]string
	// Namespace is the federated object's namespace; empty for a cluster-scoped one.
	Namespace string
}

// ErrTemplate means a string value of the rendered object is not a template that can be
// filled in: its syntax is wrong, it names a key that is not there (missingkey=error), or it
// calls a function that fails.
var ErrTemplate = errors.New("bad template value")

// maxTemplateValue bounds what one string value may grow to once filled in.
const maxTemplateValue = 1 << 20

// TemplateError tells which string value of the rendered object could not be filled in and
// why. It wraps ErrTemplate and the template's own error. Like OverrideError, its message
// does not name the cluster.
type TemplateError struct {
	// Path is the JSON pointer of the value, such as /data/clusterName.
	Path string
	// Err is the cause.
	Err error
}

// Error describes the failing value and its cause.
func (e *TemplateError) Error() string {
	return fmt.Sprintf("failed to fill in the template value at %s: %v", e.Path, e.Err)
}

// Unwrap returns ErrTemplate and the cause.
func (e *TemplateError) Unwrap() []error { return []error{ErrTemplate, e.Err} }

// IsOverrideFailure tells whether err says that the cluster's overrides, or its template
// values, do not apply: an *OverrideError or a *TemplateError.
func IsOverrideFailure(err error) bool {
	var oe *OverrideError
	var te *TemplateError
	return errors.As(err, &oe) || errors.As(err, &te)
}

// templateFuncs are the functions a template value may call, besides text/template's own
// (index, printf, eq, ...): default, lower and upper.
var templateFuncs = template.FuncMap{
	// default gives def when value is empty: {{ index .labels "zone" | default "none" }}.
	"default": func(def string, value any) string {
		if value == nil || value == "" {
			return def
		}
		return fmt.Sprint(value)
	},
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
}

// identityPaths are the fields whose values are never templated: they tie the member object
// to its federated object.
var identityPaths = map[string]bool{"/apiVersion": true, "/kind": true, "/metadata/name": true, "/metadata/namespace": true, "/metadata/generateName": true}

// fillIn replaces, in every string value of obj but its identity, the template the value
// holds with its result for values. Map keys are left as they are. Values are visited in a
// fixed order, so that the first failure is always the same one.
func fillIn(obj map[string]any, values *TemplateValues) error {
	labels := values.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	data := map[string]any{"cluster": values.Cluster, "labels": labels, "namespace": values.Namespace}
	return fillInMap(obj, "", data)
}

func fillInMap(m map[string]any, path string, data map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := path + "/" + EscapePointerToken(k)
		if identityPaths[p] {
			continue
		}
		v, err := fillInValue(m[k], p, data)
		if err != nil {
			return err
		}
		m[k] = v
	}
	return nil
}

func fillInValue(v any, path string, data map[string]any) (any, error) {
	switch t := v.(type) {
	case string:
		return fillInString(t, path, data)
	case map[string]any:
		return t, fillInMap(t, path, data)
	case []any:
		for i := range t {
			filled, err := fillInValue(t[i], fmt.Sprintf("%s/%d", path, i), data)
			if err != nil {
				return nil, err
			}
			t[i] = filled
		}
		return t, nil
	default:
		return v, nil
	}
}

func fillInString(s, path string, data map[string]any) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	tmpl, err := template.New("value").Option("missingkey=error").Funcs(templateFuncs).Parse(s)
	if err != nil {
		return "", &TemplateError{Path: path, Err: err}
	}
	out := &limitedBuffer{limit: maxTemplateValue}
	if err := tmpl.Execute(out, data); err != nil {
		return "", &TemplateError{Path: path, Err: err}
	}
	return out.String(), nil
}

// limitedBuffer is a buffer that refuses to grow past limit.
type limitedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.limit {
		return 0, fmt.Errorf("the value would be longer than %d bytes", b.limit)
	}
	return b.Buffer.Write(p)
}
