package federate

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

func TestStatusOnlyChange(t *testing.T) {
	copyOf := func(change func(map[string]any)) *unstructured.Unstructured {
		obj := map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{
				"name": "web", "namespace": "default", "resourceVersion": "7", "generation": int64(2),
				"labels":        map[string]any{"kubefed.io/managed": "true"},
				"managedFields": []any{map[string]any{"manager": "fed-controller"}},
			},
			"spec":   map[string]any{"replicas": int64(3)},
			"status": map[string]any{"readyReplicas": int64(1)},
		}
		if change != nil {
			change(obj)
		}
		return &unstructured.Unstructured{Object: obj}
	}
	meta := func(obj map[string]any) map[string]any { return obj["metadata"].(map[string]any) }
	cases := []struct {
		name     string
		old, obj *unstructured.Unstructured
		want     bool
	}{
		{name: "the status alone changed, with a new resourceVersion and managedFields", old: copyOf(nil), obj: copyOf(func(o map[string]any) {
			o["status"] = map[string]any{"readyReplicas": int64(3)}
			meta(o)["resourceVersion"] = "8"
			meta(o)["managedFields"] = []any{map[string]any{"manager": "kube-controller-manager"}}
		}), want: true},
		{name: "a status that appears", old: copyOf(func(o map[string]any) { delete(o, "status") }), obj: copyOf(nil), want: true},
		{name: "the spec changed too", old: copyOf(nil), obj: copyOf(func(o map[string]any) {
			o["status"] = map[string]any{"readyReplicas": int64(3)}
			o["spec"] = map[string]any{"replicas": int64(4)}
		})},
		{name: "a label changed too", old: copyOf(nil), obj: copyOf(func(o map[string]any) {
			o["status"] = map[string]any{"readyReplicas": int64(3)}
			meta(o)["labels"] = map[string]any{}
		})},
		{name: "a field outside spec and status appeared (a ConfigMap's data)", old: copyOf(nil), obj: copyOf(func(o map[string]any) {
			o["status"] = map[string]any{"readyReplicas": int64(3)}
			o["data"] = map[string]any{"k": "v"}
		})},
		{name: "the deletion started", old: copyOf(nil), obj: copyOf(func(o map[string]any) {
			o["status"] = map[string]any{"readyReplicas": int64(3)}
			meta(o)["deletionTimestamp"] = "2026-12-02T10:00:00Z"
		})},
		{name: "nothing changed (a resync)", old: copyOf(nil), obj: copyOf(nil)},
		{name: "a creation", obj: copyOf(nil)},
		{name: "a deletion", old: copyOf(nil)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := statusOnlyChange(tc.old, tc.obj); got != tc.want {
				t.Errorf("statusOnlyChange() = %v, want %v", got, tc.want)
			}
			if got := syncChange(configMapType(true))(tc.old, tc.obj); got == tc.want {
				t.Errorf("the sync workers take it = %v, want %v", got, !tc.want)
			}
		})
	}
	if syncChange(configMapType(false)) != nil {
		t.Error("a type that collects no status filters its sync workers' changes")
	}
}

func TestKeyLocks(t *testing.T) {
	var l keyLocks
	a, b := types.NamespacedName{Name: "a"}, types.NamespacedName{Name: "b"}
	unlockA, ok := l.tryLock(a)
	if !ok {
		t.Fatal("a free key is not taken")
	}
	if _, ok := l.tryLock(a); ok {
		t.Fatal("a held key is taken twice")
	}
	unlockB, ok := l.tryLock(b)
	if !ok {
		t.Fatal("another key is not taken while the first is held")
	}
	unlockB()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, ok := l.lock(ctx, a); ok {
		t.Fatal("lock took a held key")
	}

	got := make(chan bool)
	go func() {
		unlock, ok := l.lock(context.Background(), a)
		if ok {
			unlock()
		}
		got <- ok
	}()
	select {
	case <-got:
		t.Fatal("lock did not wait for the key")
	case <-time.After(20 * time.Millisecond):
	}
	unlockA()
	if !<-got {
		t.Fatal("lock did not take the key once released")
	}
	if unlock, ok := l.tryLock(a); !ok {
		t.Fatal("the key is still held after every holder released it")
	} else {
		unlock()
	}
}
