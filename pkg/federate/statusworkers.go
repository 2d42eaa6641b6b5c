package federate

import (
	"context"
	"reflect"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// A type that collects status runs two pools of workers over the same SyncReconciler, each
// with its own queue: the sync workers (spec.syncController.maxConcurrentReconciles) take
// every change but those of a member copy's status alone, which go to the status workers
// (spec.statusController.maxConcurrentReconciles). A stream of status changes, such as pods
// becoming ready in every member, then never holds up propagation, and the status workers
// bound the work it costs. Both run the whole reconcile, so that either sees what the object
// needs; one object is reconciled by one worker at a time.

// busyRecheck is how soon a status worker looks again at an object that a sync worker is
// reconciling, whose status that reconcile may have read before the change.
const busyRecheck = 100 * time.Millisecond

// statusReconciler is the reconciler of a type's status workers.
type statusReconciler struct{ sync *SyncReconciler }

// Reconcile reconciles the object unless a sync worker is at it, in which case it comes back
// shortly.
func (s statusReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	unlock, ok := s.sync.inFlight.tryLock(req.NamespacedName)
	if !ok {
		return reconcile.Result{RequeueAfter: busyRecheck}, nil
	}
	defer unlock()
	return s.sync.reconcile(ctx, req)
}

// keyLocks lets one worker at a time hold a key. The zero value is ready to use.
type keyLocks struct {
	mu   sync.Mutex
	held map[types.NamespacedName]chan struct{}
}

// lock waits until key is free and holds it, or returns false when ctx ends first.
func (l *keyLocks) lock(ctx context.Context, key types.NamespacedName) (unlock func(), ok bool) {
	for {
		unlock, free, wait := l.take(key)
		if free {
			return unlock, true
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// tryLock holds key when it is free.
func (l *keyLocks) tryLock(key types.NamespacedName) (unlock func(), ok bool) {
	unlock, ok, _ = l.take(key)
	return unlock, ok
}

// take holds key when it is free; otherwise it returns what is closed when key is released.
func (l *keyLocks) take(key types.NamespacedName) (unlock func(), ok bool, released <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch, held := l.held[key]; held {
		return nil, false, ch
	}
	if l.held == nil {
		l.held = map[types.NamespacedName]chan struct{}{}
	}
	ch := make(chan struct{})
	l.held[key] = ch
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.held, key)
		close(ch)
	}, true, nil
}

// syncChange lets through the member copies' changes that the sync workers take: all of
// them, but for a type that collects status those of a copy's status alone.
func syncChange(t Type) func(old, obj *unstructured.Unstructured) bool {
	if !t.StatusCollection {
		return nil
	}
	return func(old, obj *unstructured.Unstructured) bool { return !statusOnlyChange(old, obj) }
}

// statusOnlyChange tells whether a member copy's update changed its status and nothing else
// (its resourceVersion and managedFields aside). A creation, a deletion and an update that
// changed nothing at all (a resync) are not.
func statusOnlyChange(old, obj *unstructured.Unstructured) bool {
	if old == nil || obj == nil || reflect.DeepEqual(old.Object["status"], obj.Object["status"]) {
		return false
	}
	return equalBut(old.Object, obj.Object, "status", "metadata") &&
		equalBut(mapAt(old.Object, "metadata"), mapAt(obj.Object, "metadata"), "resourceVersion", "managedFields")
}

// equalBut tells whether a and b hold the same keys and values, but for the keys skipped.
func equalBut(a, b map[string]any, skipped ...string) bool {
	skip := func(k string) bool {
		for _, s := range skipped {
			if k == s {
				return true
			}
		}
		return false
	}
	for k, v := range a {
		if skip(k) {
			continue
		}
		if w, ok := b[k]; !ok || !reflect.DeepEqual(v, w) {
			return false
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok && !skip(k) {
			return false
		}
	}
	return true
}

func mapAt(obj map[string]any, key string) map[string]any {
	m, _ := obj[key].(map[string]any)
	return m
}
