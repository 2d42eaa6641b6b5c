package intern

import (
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

func sameBytes(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) } //nolint:gosec // Two strings are one when their bytes are at one address.

// Two copies of a string, interned with a garbage collection between them, are one: objects
// decoded minutes apart share their strings.
func TestStringsAreSharedAcrossGarbageCollections(t *testing.T) {
	first := String(strings.Repeat("k", 20))
	runtime.GC()
	runtime.GC()
	second := String(strings.Repeat("k", 20))
	if !sameBytes(first, second) {
		t.Error("the string interned after a garbage collection is a second copy")
	}
}

func TestLongStringsAreKeptAsTheyAre(t *testing.T) {
	long := strings.Repeat("d", MaxLen+1)
	if got := String(long); !sameBytes(got, long) {
		t.Error("a string longer than MaxLen was copied")
	}
	if got := String(strings.Repeat("d", MaxLen+1)); sameBytes(got, long) {
		t.Error("a string longer than MaxLen was shared")
	}
}

// A full table starts afresh: it never holds more than its limit, and what it gave before
// stays as it was.
func TestAFullTableStartsAfresh(t *testing.T) {
	tb := newTable[string](3)
	kept := stringIn(tb, "a")
	for _, s := range []string{"b", "c", "d", "e"} {
		stringIn(tb, s)
		if len(tb.entries) > 3 {
			t.Fatalf("the table holds %d strings, over its limit of 3", len(tb.entries))
		}
	}
	if kept != "a" {
		t.Errorf("a string given before the table started afresh is %q, want a", kept)
	}
	if got := stringIn(tb, "e"); !sameBytes(got, tb.entries["e"]) {
		t.Error("the table does not share the string it holds")
	}
}

func TestJSONIsADeepCopyWithSharedStrings(t *testing.T) {
	in := map[string]any{
		"status": map[string]any{"clusters": []any{map[string]any{"name": "member-01", "status": "OK"}}},
		"spec":   map[string]any{"replicas": int64(3), "paused": false, "note": nil},
	}
	out := JSON(in).(map[string]any)
	if diff := cmp.Diff(in, out); diff != "" {
		t.Fatalf("JSON changed the value (-in +out):\n%s", diff)
	}
	out["spec"].(map[string]any)["replicas"] = int64(4)
	if in["spec"].(map[string]any)["replicas"] != int64(3) {
		t.Error("JSON's copy shares its maps with the input")
	}
	again := JSON(map[string]any{"status": map[string]any{"clusters": []any{map[string]any{"name": strings.Clone("member-01")}}}}).(map[string]any)
	a := out["status"].(map[string]any)["clusters"].([]any)[0].(map[string]any)["name"].(string)
	b := again["status"].(map[string]any)["clusters"].([]any)[0].(map[string]any)["name"].(string)
	if !sameBytes(a, b) {
		t.Error("two copies of the same cluster name are not shared")
	}
}

func TestEqualMapsAreShared(t *testing.T) {
	same := func(a, b map[string]string) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	a := SharedMap(map[string]string{"app": "web", "fedplane.io/managed": "true"})
	b := SharedMap(map[string]string{"fedplane.io/managed": "true", "app": "web"})
	if !same(a, b) {
		t.Error("two equal label maps are two maps")
	}
	if diff := cmp.Diff(map[string]string{"app": "web", "fedplane.io/managed": "true"}, b); diff != "" {
		t.Errorf("the shared map differs (-want +got):\n%s", diff)
	}
	// Keys and values run together differently are not the same map.
	c := SharedMap(map[string]string{"ab": "c"})
	d := SharedMap(map[string]string{"a": "bc"})
	if same(c, d) || d["a"] != "bc" {
		t.Errorf("{ab: c} and {a: bc} share a map: %v, %v", c, d)
	}
	if e := SharedMap(map[string]string{"app": "api"}); same(a, e) || e["app"] != "api" {
		t.Errorf("a different map came back as %v", e)
	}
	// A NUL byte would make two different maps one key: such a map is copied, not shared.
	if x, y := SharedMap(map[string]string{"a\x00b": "c"}), SharedMap(map[string]string{"a": "b\x00c"}); same(x, y) || x["a\x00b"] != "c" || y["a"] != "b\x00c" {
		t.Errorf("maps holding NUL bytes were shared: %q, %q", x, y)
	}
	if SharedMap(nil) != nil {
		t.Error("nil did not come back as nil")
	}
	// A large map is copied, not shared.
	big := map[string]string{"data": strings.Repeat("x", MaxMapBytes)}
	if x, y := SharedMap(big), SharedMap(big); same(x, y) || same(x, big) || x["data"] != big["data"] {
		t.Error("a map over MaxMapBytes was shared or not copied")
	}
}

func TestAFullMapTableStartsAfresh(t *testing.T) {
	tab := newTable[map[string]string](2)
	for i := range 3 {
		in := map[string]string{"i": strings.Repeat("x", i+1)}
		key, _ := mapKey(in)
		tab.get(key, func() (string, map[string]string) { return key, Map(in) })
	}
	if len(tab.entries) != 1 {
		t.Errorf("the table holds %d maps after three into a table of two, want 1", len(tab.entries))
	}
}
