// Package intern keeps one copy of the strings that thousands of cached objects repeat: field
// names, label and annotation keys, namespaces, cluster names, condition types and reasons.
//
// The table holds its strings strongly, so that two objects decoded minutes apart share their
// copies (a table of weak references, such as the unique package's, forgets a string at the
// first garbage collection after the last handle to it goes, and objects keep strings, not
// handles). It is bounded: it takes only strings up to MaxLen bytes, and when it holds
// MaxStrings of them it starts afresh. Strings handed out before stay valid; only the sharing
// of later copies with them is lost.
package intern

import (
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// MaxLen is the length of the longest string the table takes: longer strings, such as a
	// template's data, are seldom repeated and are kept as they are.
	MaxLen = 128
	// MaxStrings is how many strings the table holds before it starts afresh.
	MaxStrings = 1 << 16
)

type table struct {
	mu      sync.RWMutex
	strings map[string]string
	limit   int
}

var shared = &table{strings: map[string]string{}, limit: MaxStrings}

// String returns the table's copy of s, adding s when the table has none; a string longer
// than MaxLen is returned as it is.
func String(s string) string { return shared.string(s) }

func (t *table) string(s string) string {
	if len(s) > MaxLen || s == "" {
		return s
	}
	t.mu.RLock()
	v, ok := t.strings[s]
	t.mu.RUnlock()
	if ok {
		return v
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.strings[s]; ok {
		return v
	}
	if len(t.strings) >= t.limit {
		t.strings = make(map[string]string, len(t.strings))
	}
	// The decoder's string may share its bytes with a larger buffer: the table keeps its own.
	v = string([]byte(s))
	t.strings[v] = v
	return v
}

// JSON is a deep copy of the JSON value v (as unstructured objects hold it: maps, slices,
// strings, numbers, booleans and nil), with every map key and every string value passed
// through String but for moments, the values of fields whose name ends in Time or Timestamp,
// which are seldom shared. Each map is made at its size.
func JSON(v any) any { return value("", v) }

// value is JSON(v), v being the value of field k, with the moments kept as they are.
func value(k string, v any) any {
	switch v := v.(type) {
	case string:
		if strings.HasSuffix(k, "Time") || strings.HasSuffix(k, "Timestamp") {
			return v
		}
		return String(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[String(k)] = value(k, e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = value(k, e)
		}
		return out
	default:
		return v
	}
}

// Map is a copy of the string map in (labels, annotations), with its keys and values passed
// through String; nil stays nil.
func Map(in map[string]string) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[String(k)] = String(v)
	}
	return out
}

// ObjectMeta interns, in place, the strings of m that repeat from object to object: its
// namespace, its labels and annotations, and its finalizers.
func ObjectMeta(m *metav1.ObjectMeta) {
	m.Namespace = String(m.Namespace)
	m.Labels = Map(m.Labels)
	m.Annotations = Map(m.Annotations)
	for i, f := range m.Finalizers {
		m.Finalizers[i] = String(f)
	}
}
