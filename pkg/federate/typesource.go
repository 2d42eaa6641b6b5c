package federate

import (
	"context"
	"fmt"
	"sync"

	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// hostKind is a source of the host objects of one kind, from the manager's cache. Unlike
// source.Kind, it removes its event handler from the shared informer when the controller
// stops: a type that is stopped and started again, or retried, leaves no handler behind on
// the KubeFedCluster, KubeFedConfig and FederatedNamespace informers, and nothing of a stopped
// type runs on their events.
func hostKind(c cache.Cache, obj client.Object, h handler.EventHandler, predicates ...predicate.Predicate) source.SyncingSource {
	return &hostSource{cache: c, obj: obj, handler: h, predicates: predicates}
}

type hostSource struct {
	cache      cache.Cache
	obj        client.Object
	handler    handler.EventHandler
	predicates []predicate.Predicate

	mu     sync.Mutex
	synced toolscache.InformerSynced
}

// String names the source in the controller's logs.
func (s *hostSource) String() string { return fmt.Sprintf("host kind %T", s.obj) }

// Start registers the handler on the kind's informer, which it creates without waiting for it
// to sync, and removes it when ctx ends.
func (s *hostSource) Start(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	inf, err := s.cache.GetInformer(ctx, s.obj, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("failed to get the informer of %s: %w", s, err)
	}
	reg, err := inf.AddEventHandler(s.funcs(ctx, q))
	if err != nil {
		return fmt.Errorf("failed to watch %s: %w", s, err)
	}
	s.mu.Lock()
	s.synced = reg.HasSynced
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		_ = inf.RemoveEventHandler(reg)
	}()
	return nil
}

// WaitForSync waits until the handler has seen every object of the informer's first list.
func (s *hostSource) WaitForSync(ctx context.Context) error {
	s.mu.Lock()
	synced := s.synced
	s.mu.Unlock()
	if synced == nil {
		return fmt.Errorf("%s was not started", s)
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), synced) {
		return fmt.Errorf("the cache of %s did not sync: %w", s, ctx.Err())
	}
	return nil
}

// funcs turns the informer's notifications into events for the handler, through the
// predicates. The objects of the informer's first list are told apart, so that a priority
// queue takes them behind the changes made since: after a restart, a user's change does not
// wait behind every object that is only being looked at again.
func (s *hostSource) funcs(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) toolscache.ResourceEventHandlerDetailedFuncs {
	return toolscache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(o any, isInInitialList bool) {
			obj, ok := o.(client.Object)
			if !ok {
				return
			}
			e := event.CreateEvent{Object: obj, IsInInitialList: isInInitialList}
			for _, p := range s.predicates {
				if !p.Create(e) {
					return
				}
			}
			s.handler.Create(ctx, e, q)
		},
		UpdateFunc: func(o, n any) {
			oldObj, ok1 := o.(client.Object)
			newObj, ok2 := n.(client.Object)
			if !ok1 || !ok2 {
				return
			}
			e := event.UpdateEvent{ObjectOld: oldObj, ObjectNew: newObj}
			for _, p := range s.predicates {
				if !p.Update(e) {
					return
				}
			}
			s.handler.Update(ctx, e, q)
		},
		DeleteFunc: func(o any) {
			e := event.DeleteEvent{}
			if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				e.DeleteStateUnknown = true
				o = d.Obj
			}
			obj, ok := o.(client.Object)
			if !ok {
				return
			}
			e.Object = obj
			for _, p := range s.predicates {
				if !p.Delete(e) {
					return
				}
			}
			s.handler.Delete(ctx, e, q)
		},
	}
}

// syncTracker is a controller whose watches tell when they have all synced: the controller
// starts its workers at that moment, and only then does its type count as running. It also
// tells whether a watch failed to sync, as opposed to failing to start.
type syncTracker struct {
	controller.Controller

	mu       sync.Mutex
	pending  int
	failed   bool
	onSynced func(ctx context.Context)
}

// newSyncTracker wraps c; onSynced is called once, when every watch of c has synced, with the
// context of the last watch's wait, which ends when the controller stops.
func newSyncTracker(c controller.Controller, onSynced func(ctx context.Context)) *syncTracker {
	return &syncTracker{Controller: c, onSynced: onSynced}
}

// Watch adds the source to the controller, counted among those to sync.
func (t *syncTracker) Watch(s source.Source) error {
	t.mu.Lock()
	t.pending++
	t.mu.Unlock()
	return t.Controller.Watch(&trackedSource{Source: s, tracker: t})
}

// syncFailed tells whether a watch started but did not sync.
func (t *syncTracker) syncFailed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *syncTracker) done(ctx context.Context, err error) {
	t.mu.Lock()
	if err != nil {
		t.failed = true
		t.mu.Unlock()
		return
	}
	t.pending--
	last := t.pending == 0
	t.mu.Unlock()
	if last {
		t.onSynced(ctx)
	}
}

// trackedSource reports to its tracker when it has synced, or failed to. A source that does
// not sync is synced as soon as it starts.
type trackedSource struct {
	source.Source
	tracker *syncTracker
}

// WaitForSync waits for the source to sync and reports the result.
func (s *trackedSource) WaitForSync(ctx context.Context) error {
	var err error
	if syncing, ok := s.Source.(source.SyncingSource); ok {
		err = syncing.WaitForSync(ctx)
	}
	if err == nil && ctx.Err() != nil {
		// The controller is stopping: nothing synced.
		return nil
	}
	s.tracker.done(ctx, err)
	return err
}

// String names the wrapped source.
func (s *trackedSource) String() string { return fmt.Sprint(s.Source) }
