package federate

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/fedplane/fedplane/api/contract"
)

// maxPendingChanges bounds how many federated objects' changes wait to be timed: past it, a
// change is not timed, and nothing else is lost.
const maxPendingChanges = 100000

// changeTimes remembers when fed-controller saw each federated object change (its creation or
// a new generation) until a reconcile of it starts, so that the wait can be measured: a
// user's change that waits long in the queue, behind other work, shows in the metric. The
// zero value is ready to use.
type changeTimes struct {
	mu      sync.Mutex
	pending map[types.NamespacedName]change
}

// The kinds of change that are timed.
const (
	changeCreate = "create"
	changeUpdate = "update"
	// changeDelete is the start of a deletion, which gives a federated object that has
	// finalizers a new generation too.
	changeDelete = "delete"
)

// change is a change seen and not reconciled yet.
type change struct {
	at time.Time
	// kind is changeCreate, changeUpdate or changeDelete.
	kind string
}

// seen records that the object changed at at; an earlier change not yet reconciled keeps its
// time, as the reconcile to come handles both.
func (c *changeTimes) seen(key types.NamespacedName, at time.Time, kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		c.pending = map[types.NamespacedName]change{}
	}
	if _, ok := c.pending[key]; ok || len(c.pending) >= maxPendingChanges {
		return
	}
	c.pending[key] = change{at: at, kind: kind}
}

// take returns, and forgets, the object's oldest change not yet reconciled.
func (c *changeTimes) take(key types.NamespacedName) (change, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.pending[key]
	delete(c.pending, key)
	return ch, ok
}

// len is how many changes wait to be timed.
func (c *changeTimes) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// federatedEvents is the handler of the federated objects' events: it enqueues each object as
// handler.EnqueueRequestForObject does, and also
//   - records in changes when a creation, a new generation or the start of a deletion was
//     seen, to time its wait;
//   - queues the echo of fed-controller's own finalizer behind the users' changes: the
//     reconcile that added the finalizer went on to propagate the object, so the echo only
//     looks again. After thousands of objects are created at once, their echoes would
//     otherwise queue ahead of a user's change made since.
func federatedEvents(changes *changeTimes, now func() time.Time) handler.EventHandler {
	return federatedHandler{EventHandler: &handler.EnqueueRequestForObject{}, changes: changes, now: now}
}

type federatedHandler struct {
	handler.EventHandler
	changes *changeTimes
	now     func() time.Time
}

func (h federatedHandler) Create(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if e.Object != nil && !e.IsInInitialList {
		h.changes.seen(client.ObjectKeyFromObject(e.Object), h.now(), changeCreate)
	}
	h.EventHandler.Create(ctx, e, q)
}

func (h federatedHandler) Update(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if e.ObjectOld == nil || e.ObjectNew == nil {
		h.EventHandler.Update(ctx, e, q)
		return
	}
	if e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() {
		kind := changeUpdate
		if e.ObjectOld.GetDeletionTimestamp() == nil && e.ObjectNew.GetDeletionTimestamp() != nil {
			kind = changeDelete
		}
		h.changes.seen(client.ObjectKeyFromObject(e.ObjectNew), h.now(), kind)
	}
	if pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request]); ok && ownFinalizerAdded(e.ObjectOld, e.ObjectNew) {
		pq.AddWithOpts(priorityqueue.AddOpts{Priority: new(handler.LowPriority)}, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.ObjectNew)})
		return
	}
	h.EventHandler.Update(ctx, e, q)
}

// ownFinalizerAdded tells whether the only change that matters between old and new is the
// sync finalizer added: the generation, labels, annotations and deletion are the same, and
// the finalizers are old's plus that one.
func ownFinalizerAdded(oldObj, newObj client.Object) bool {
	if oldObj.GetGeneration() != newObj.GetGeneration() ||
		(oldObj.GetDeletionTimestamp() == nil) != (newObj.GetDeletionTimestamp() == nil) ||
		!maps.Equal(oldObj.GetLabels(), newObj.GetLabels()) || !maps.Equal(oldObj.GetAnnotations(), newObj.GetAnnotations()) ||
		controllerutil.ContainsFinalizer(oldObj, contract.SyncFinalizer) || !controllerutil.ContainsFinalizer(newObj, contract.SyncFinalizer) {
		return false
	}
	rest := slices.DeleteFunc(slices.Clone(newObj.GetFinalizers()), func(f string) bool { return f == contract.SyncFinalizer })
	return slices.Equal(rest, oldObj.GetFinalizers())
}
