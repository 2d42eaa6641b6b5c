package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// tracker watches the bench's objects in every member and tells when
// the members hold given versions. It records, for each member and object, the version the
// object carries when its cluster label is right, and 0 when the object is wrong; an
// object not in the map does not exist.
type tracker struct {
	mu      sync.Mutex
	changed *sync.Cond
	seen    map[string]map[string]int
	// byVersion counts each member's objects by version.
	byVersion map[string]map[int]int
	// reached is when each member's object last changed version.
	reached map[string]map[string]time.Time
	stop    context.CancelFunc
}

// newTracker starts a metadata watch of resource in namespace of every member and waits until
// each has listed.
func newTracker(ctx context.Context, k kind, namespace string, members map[string]*rest.Config) (*tracker, error) {
	ctx, cancel := context.WithCancel(ctx)
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	t := emptyTracker(names...)
	t.stop = cancel
	var synced []cache.InformerSynced
	for name, cfg := range members {
		// A full-object JSON watch, as fed-controller's: the API server encodes each event once
		// for both, so the bench's watch costs it little.
		dc, err := dynamic.NewForConfig(cfg)
		if err != nil {
			cancel()
			return nil, err
		}
		ri := dc.Resource(k.Resource).Namespace(namespace)
		inf := cache.NewSharedIndexInformer(&cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.LabelSelector = benchSelector
				return ri.List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.LabelSelector = benchSelector
				return ri.Watch(ctx, o)
			},
		}, &unstructured.Unstructured{}, 0, cache.Indexers{})
		_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { t.record(name, obj, false) },
			UpdateFunc: func(_, obj any) { t.record(name, obj, false) },
			DeleteFunc: func(obj any) { t.record(name, obj, true) },
		})
		if err != nil {
			cancel()
			return nil, err
		}
		go inf.RunWithContext(ctx)
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		cancel()
		return nil, fmt.Errorf("the member watches did not sync")
	}
	// Wake waiters regularly, so that they notice their deadline.
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				t.changed.Broadcast()
				return
			case <-tick.C:
				t.changed.Broadcast()
			}
		}
	}()
	return t, nil
}

// emptyTracker is a tracker of the members that has seen nothing yet and watches nothing.
func emptyTracker(members ...string) *tracker {
	t := &tracker{seen: map[string]map[string]int{}, byVersion: map[string]map[int]int{}, reached: map[string]map[string]time.Time{}, stop: func() {}}
	t.changed = sync.NewCond(&t.mu)
	for _, name := range members {
		t.seen[name] = map[string]int{}
		t.byVersion[name] = map[int]int{}
		t.reached[name] = map[string]time.Time{}
	}
	return t
}

func (t *tracker) record(cluster string, obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = d.Obj, true
	}
	m, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	name, labels := m.GetName(), m.GetLabels()
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	old, had := t.seen[cluster][name]
	if had {
		t.byVersion[cluster][old]--
	}
	if deleted {
		delete(t.seen[cluster], name)
		delete(t.reached[cluster], name)
	} else {
		v, err := strconv.Atoi(labels[versionLabel])
		if err != nil || labels[clusterLabel] != cluster {
			v = 0
		}
		t.seen[cluster][name] = v
		t.byVersion[cluster][v]++
		if !had || old != v {
			t.reached[cluster][name] = now
		}
	}
	t.changed.Broadcast()
}

// Close stops the watches.
func (t *tracker) Close() { t.stop() }

// waitUntil waits until cond holds (it is called with the lock held) or the deadline
// passes, and returns when it held.
func (t *tracker) waitUntil(deadline time.Time, cond func() bool) (time.Time, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for !cond() {
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("timed out")
		}
		t.changed.Wait()
	}
	return time.Now(), nil
}

// waitAll waits until every member holds n objects at version (the bench's objects all
// start at the same version).
func (t *tracker) waitAll(deadline time.Time, n, version int) (time.Time, error) {
	return t.waitUntil(deadline, func() bool {
		for _, counts := range t.byVersion {
			if counts[version] < n {
				return false
			}
		}
		return true
	})
}

// waitObject waits until every member holds object name at version. It returns when the
// first member and the last one had it.
func (t *tracker) waitObject(deadline time.Time, name string, version int) (first, last time.Time, err error) {
	_, err = t.waitUntil(deadline, func() bool {
		for _, objs := range t.seen {
			if objs[name] != version {
				return false
			}
		}
		return true
	})
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for cluster := range t.seen {
		at := t.reached[cluster][name]
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	return first, last, nil
}

// waitEmpty waits until no member holds any of the bench's objects.
func (t *tracker) waitEmpty(deadline time.Time) (time.Time, error) {
	return t.waitUntil(deadline, func() bool {
		for _, objs := range t.seen {
			if len(objs) > 0 {
				return false
			}
		}
		return true
	})
}

// counts returns how many objects the members hold, and how many of them at version. It is
// cheap (one step per member), so that polling it during converge takes nothing from the lab.
func (t *tracker) counts(version int) (held, right int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for name, objs := range t.seen {
		held += len(objs)
		right += t.byVersion[name][version]
	}
	return held, right
}
