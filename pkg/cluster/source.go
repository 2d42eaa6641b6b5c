package cluster

import (
	"context"
	"reflect"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// Source watches the managed objects of one kind in every member. It enqueues key(object)
// when an object changes in any member, and every request of all when a member connects or
// disconnects. It registers a handler on each member's cache as the member connects, so a
// member that connects late, or connects again with a new cache, is watched too; a member
// that never connects holds up nothing. The source holds the kind in members (Cache.Hold)
// while it runs: when the last source or holder of the kind stops, the members' informers of
// the kind go.
func Source(members *Cache, gvk schema.GroupVersionKind, key func(*unstructured.Unstructured) types.NamespacedName, all func(context.Context) []reconcile.Request) source.Source {
	return FilteredSource(members, gvk, key, all, nil)
}

// FilteredSource is Source that enqueues only the changes that accept lets through: an object
// created in a member comes as (nil, obj), one deleted as (obj, nil) and an update as (old,
// new). A nil accept lets every change through. all, when set, is enqueued as by Source.
// A member object's change is enqueued with low priority (see addLow).
func FilteredSource(members *Cache, gvk schema.GroupVersionKind, key func(*unstructured.Unstructured) types.NamespacedName, all func(context.Context) []reconcile.Request, accept func(old, new *unstructured.Unstructured) bool) source.Source {
	return watchMembers(members, gvk, all, func(_ context.Context, w *memberWatch) toolscache.ResourceEventHandlerFuncs {
		enqueue := func(oldObj, newObj any) {
			old, obj := memberObject(oldObj), memberObject(newObj)
			if accept != nil && !accept(old, obj) {
				return
			}
			if obj == nil {
				obj = old
			}
			if obj != nil {
				addLow(w.q, reconcile.Request{NamespacedName: key(obj)})
			}
		}
		return toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { enqueue(nil, o) },
			UpdateFunc: enqueue,
			DeleteFunc: func(o any) { enqueue(o, nil) },
		}
	})
}

// addLow enqueues req behind the requests of normal priority when q is a priority queue: most
// member changes are the echo of a write this control plane just made, and a user's change
// of a federated object must not wait behind thousands of them. A request already queued
// keeps the higher of its priorities.
func addLow(q workqueue.TypedRateLimitingInterface[reconcile.Request], req reconcile.Request) {
	if pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request]); ok {
		pq.AddWithOpts(priorityqueue.AddOpts{Priority: new(handler.LowPriority)}, req)
		return
	}
	q.Add(req)
}

// NamespaceSource watches the managed namespaces of every member. When one appears (is
// created, or labelled managed) or goes, it enqueues inNamespace(its name): the objects there
// are looked at again, such as a copy whose create the member refused because the namespace
// was being deleted. Updates enqueue nothing: a namespace being deleted accepts no new object
// until it is gone and made again, and one that is not being deleted needs nothing.
func NamespaceSource(members *Cache, inNamespace func(context.Context, string) []reconcile.Request) source.Source {
	gvk := schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	return watchMembers(members, gvk, nil, func(ctx context.Context, w *memberWatch) toolscache.ResourceEventHandlerFuncs {
		enqueue := func(obj *unstructured.Unstructured) {
			for _, req := range inNamespace(ctx, obj.GetName()) {
				w.q.Add(req)
			}
		}
		return toolscache.ResourceEventHandlerFuncs{
			AddFunc: func(o any) {
				if obj := memberObject(o); obj != nil {
					enqueue(obj)
				}
			},
			DeleteFunc: func(o any) {
				if obj := memberObject(o); obj != nil {
					enqueue(obj)
				}
			},
		}
	})
}

// watchMembers registers the handler that handlers builds on the informer of gvk of every
// member's cache, as members connect. When all is set, its requests are enqueued when a member
// connects or disconnects, and when a member's informer has listed the objects.
func watchMembers(members *Cache, gvk schema.GroupVersionKind, all func(context.Context) []reconcile.Request, handlers func(context.Context, *memberWatch) toolscache.ResourceEventHandlerFuncs) source.Source {
	return source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		release := members.Hold(gvk)
		events := members.Subscribe()
		w := &memberWatch{members: members, gvk: gvk, all: all, q: q, watched: map[string]cache.Informers{}, regs: map[string]func(){}}
		w.handler = handlers(ctx, w)
		go func() {
			// The handlers go first, then the hold: no watch of this source starts an informer
			// once the kind is released.
			defer release()
			defer members.Unsubscribe(events)
			defer w.stopAll()
			for _, name := range members.Connected() {
				w.watch(ctx, name)
			}
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-events:
					if !ok {
						return
					}
					name := ev.Object.GetName()
					w.watch(ctx, name)
					if all == nil {
						continue
					}
					for _, req := range all(ctx) {
						q.Add(req)
					}
				}
			}
		}()
		return nil
	})
}

type memberWatch struct {
	members *Cache
	gvk     schema.GroupVersionKind
	all     func(context.Context) []reconcile.Request
	q       workqueue.TypedRateLimitingInterface[reconcile.Request]
	handler toolscache.ResourceEventHandlerFuncs

	mu      sync.Mutex
	watched map[string]cache.Informers
	regs    map[string]func()
}

// watch registers the handler on the member's current cache, once per cache.
func (w *memberWatch) watch(ctx context.Context, name string) {
	informers, ok := w.members.Informers(name)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !ok {
		if stop := w.regs[name]; stop != nil {
			stop()
		}
		delete(w.watched, name)
		delete(w.regs, name)
		return
	}
	if w.watched[name] == informers {
		return
	}
	if stop := w.regs[name]; stop != nil {
		stop()
	}
	delete(w.watched, name)
	delete(w.regs, name)
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(w.gvk)
	// The informer starts in the background: a member that does not answer never blocks here.
	informers, inf, err := w.members.Informer(ctx, name, obj)
	if err != nil {
		if ctx.Err() == nil {
			ctrl.LoggerFrom(ctx).Error(err, "failed to watch the member's objects", "cluster", name, "kind", w.gvk.Kind)
		}
		return
	}
	w.watched[name] = informers
	reg, err := inf.AddEventHandler(w.handler)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to watch the member's objects", "cluster", name, "kind", w.gvk.Kind)
		return
	}
	stopped := make(chan struct{})
	w.regs[name] = func() {
		_ = inf.RemoveEventHandler(reg)
		close(stopped)
	}
	// Until the member's objects are listed, reads of them answer nothing (they never wait for
	// the member); once they are, every object is looked at again.
	go func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			select {
			case <-ctx.Done():
			case <-stopped:
			}
		}()
		if toolscache.WaitForCacheSync(done, reg.HasSynced) && w.all != nil {
			for _, req := range w.all(ctx) {
				w.q.Add(req)
			}
		}
	}()
}

func (w *memberWatch) stopAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, stop := range w.regs {
		stop()
	}
	w.regs = map[string]func(){}
}

// memberObject is the object of an informer's notification, nil when it is not one; the
// metadata of a kind cached as metadata only comes as the slim copy it stands for.
func memberObject(o any) *unstructured.Unstructured {
	if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	switch obj := o.(type) {
	case *unstructured.Unstructured:
		return obj
	case *metav1.PartialObjectMetadata:
		u, err := fromMetadata(obj, obj.GroupVersionKind())
		if err != nil {
			return nil
		}
		return u
	default:
		return nil
	}
}

// JoinedAnnotation is stamped on a KubeFedCluster by every join, with the time of the join: a
// re-join that only changes the member's side (a role granted) still brings every object placed
// there back.
const JoinedAnnotation = "fedplane.io/joined-at"

// PlacementChanged lets through KubeFedCluster registrations, removals, and changes of labels,
// readiness, the registration itself (spec) or its annotations (a join stamps one), which can
// change any object's placement, or what a write to the cluster would now achieve.
func PlacementChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*corev1beta1.KubeFedCluster)
		n, ok2 := e.ObjectNew.(*corev1beta1.KubeFedCluster)
		if !ok1 || !ok2 {
			return true
		}
		return !reflect.DeepEqual(o.Labels, n.Labels) || IsReady(o.Status) != IsReady(n.Status) ||
			o.Generation != n.Generation || !reflect.DeepEqual(o.Annotations, n.Annotations)
	}}
}
