// Package intern keeps one copy of the strings that thousands of cached objects repeat: field
// names, label and annotation keys, namespaces, cluster names, condition types and reasons.
//
// The table holds its strings strongly, so that two objects decoded minutes apart share their
// copies (a table of weak references, such as the unique package's, forgets a string at the
// first garbage collection after the last handle to it goes, and objects keep strings, not
// handles). It is bounded: it takes only strings up to MaxLen bytes, and when it holds
// MaxStrings of them it starts afresh. Strings handed out before stay valid; only the sharing
// of later copies with them is lost. A second table, as bounded, shares whole label maps
// (SharedMap).
package intern

import (
	"slices"
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

// table is a bounded table of shared values by key: when it holds limit of them it starts
// afresh.
type table[V any] struct {
	mu      sync.RWMutex
	entries map[string]V
	limit   int
}

func newTable[V any](limit int) *table[V] {
	return &table[V]{entries: map[string]V{}, limit: limit}
}

// get returns the value held for key, or adds the key and value that add makes.
func (t *table[V]) get(key string, add func() (string, V)) V {
	t.mu.RLock()
	v, ok := t.entries[key]
	t.mu.RUnlock()
	if ok {
		return v
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.entries[key]; ok {
		return v
	}
	if len(t.entries) >= t.limit {
		t.entries = make(map[string]V, len(t.entries))
	}
	k, v := add()
	t.entries[k] = v
	return v
}

var shared = newTable[string](MaxStrings)

// String returns the table's copy of s, adding s when the table has none; a string longer
// than MaxLen is returned as it is.
func String(s string) string { return stringIn(shared, s) }

func stringIn(t *table[string], s string) string {
	if len(s) > MaxLen || s == "" {
		return s
	}
	return t.get(s, func() (string, string) {
		// The decoder's string may share its bytes with a larger buffer: the table keeps its own.
		c := string([]byte(s))
		return c, c
	})
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

// Bounds of the table of shared maps (see SharedMap).
const (
	// MaxMapEntries is the most entries a shared map has; MaxMapBytes the most bytes its keys
	// and values add up to.
	MaxMapEntries = 16
	MaxMapBytes   = 1024
	// MaxMaps is how many maps the table holds before it starts afresh.
	MaxMaps = 1 << 12
)

var sharedMaps = newTable[map[string]string](MaxMaps)

// SharedMap returns a map equal to in, the same map for every caller that passes an equal
// one, with its strings interned: thousands of cached objects with the same labels then hold
// one map between them. The map returned must never be changed. A map larger than
// MaxMapEntries or MaxMapBytes is passed to Map instead, and nil and empty maps come back as
// they are.
func SharedMap(in map[string]string) map[string]string {
	if len(in) == 0 {
		return in
	}
	if len(in) > MaxMapEntries {
		return Map(in)
	}
	key, ok := mapKey(in)
	if !ok {
		return Map(in)
	}
	return sharedMaps.get(key, func() (string, map[string]string) { return key, Map(in) })
}

// mapKey is in's entries, sorted, as one string; false when they are more than MaxMapBytes
// or hold a NUL byte.
func mapKey(in map[string]string) (string, bool) {
	keys := make([]string, 0, len(in))
	size := 0
	for k, v := range in {
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			// NUL separates the entries in the key.
			return "", false
		}
		keys = append(keys, k)
		size += len(k) + len(v) + 2
	}
	if size > MaxMapBytes {
		return "", false
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(size)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(in[k])
		b.WriteByte(0)
	}
	return b.String(), true
}

// ObjectMeta interns, in place, the strings of m that repeat from object to object: its
// namespace, its labels and annotations, and its finalizers. The labels become a shared map
// (see SharedMap): m must be an object that is only read, such as one held by a cache.
// Annotations are not shared: they often hold a value of the object's own, such as a hash.
func ObjectMeta(m *metav1.ObjectMeta) {
	m.Namespace = String(m.Namespace)
	m.Labels = SharedMap(m.Labels)
	m.Annotations = Map(m.Annotations)
	for i, f := range m.Finalizers {
		m.Finalizers[i] = String(f)
	}
}
