package intern

import (
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
	tb := &table{strings: map[string]string{}, limit: 3}
	kept := tb.string("a")
	for _, s := range []string{"b", "c", "d", "e"} {
		tb.string(s)
		if len(tb.strings) > 3 {
			t.Fatalf("the table holds %d strings, over its limit of 3", len(tb.strings))
		}
	}
	if kept != "a" {
		t.Errorf("a string given before the table started afresh is %q, want a", kept)
	}
	if got := tb.string("e"); !sameBytes(got, tb.strings["e"]) {
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
