package federate

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/fedplane/fedplane/api/contract"
)

// fedAt is a federated object at a generation.
func fedAt(name string, generation int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetNamespace("ns")
	u.SetName(name)
	u.SetGeneration(generation)
	return u
}

func TestChangesAreTimedFromTheirFirstEvent(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1700000000, 0)}
	changes := &changeTimes{}
	h := federatedEvents(changes, clock.Now)
	q := priorityqueue.New[reconcile.Request]("test")
	defer q.ShutDown()
	ctx := context.Background()
	created := clock.now
	h.Create(ctx, event.CreateEvent{Object: fedAt("a", 1)}, q)
	clock.now = clock.now.Add(time.Second)
	// A second change before the reconcile keeps the first one's time.
	h.Update(ctx, event.UpdateEvent{ObjectOld: fedAt("a", 1), ObjectNew: fedAt("a", 2)}, q)
	// An update that keeps the generation (the finalizer, a label) is not a change of spec.
	h.Update(ctx, event.UpdateEvent{ObjectOld: fedAt("b", 3), ObjectNew: fedAt("b", 3)}, q)
	if q.Len() != 2 {
		t.Fatalf("queue length = %d, want 2: the handler must still enqueue", q.Len())
	}
	// The objects of the first list after a start are not changes.
	h.Create(ctx, event.CreateEvent{Object: fedAt("listed", 1), IsInInitialList: true}, q)
	if ch, ok := changes.take(types.NamespacedName{Namespace: "ns", Name: "a"}); !ok || !ch.at.Equal(created) || ch.kind != changeCreate {
		t.Errorf("take(a) = %+v, %v; want the create at %v", ch, ok, created)
	}
	h.Update(ctx, event.UpdateEvent{ObjectOld: fedAt("a", 2), ObjectNew: fedAt("a", 3)}, q)
	if ch, ok := changes.take(types.NamespacedName{Namespace: "ns", Name: "a"}); !ok || ch.kind != changeUpdate {
		t.Errorf("take(a) after a new generation = %+v, %v; want an update", ch, ok)
	}
	deleting := fedAt("a", 4)
	deleting.SetDeletionTimestamp(&metav1.Time{Time: clock.now})
	h.Update(ctx, event.UpdateEvent{ObjectOld: fedAt("a", 3), ObjectNew: deleting}, q)
	if ch, ok := changes.take(types.NamespacedName{Namespace: "ns", Name: "a"}); !ok || ch.kind != changeDelete {
		t.Errorf("take(a) after the deletion began = %+v, %v; want a delete", ch, ok)
	}
	if _, ok := changes.take(types.NamespacedName{Namespace: "ns", Name: "a"}); ok {
		t.Error("take(a) a second time found a change")
	}
	if _, ok := changes.take(types.NamespacedName{Namespace: "ns", Name: "b"}); ok {
		t.Error("an update of the same generation was timed")
	}
	if _, ok := changes.take(types.NamespacedName{Namespace: "ns", Name: "listed"}); ok {
		t.Error("an object of the first list was timed")
	}
}

func TestTheEchoOfTheOwnFinalizerQueuesBehindChanges(t *testing.T) {
	version := 0
	withFinalizers := func(name string, finalizers ...string) *unstructured.Unstructured {
		u := fedAt(name, 1)
		u.SetFinalizers(finalizers)
		// Each its own version: an update that keeps it is a resync, queued low anyway.
		version++
		u.SetResourceVersion(fmt.Sprint(version))
		return u
	}
	h := federatedEvents(&changeTimes{}, time.Now)
	q := priorityqueue.New[reconcile.Request]("test")
	defer q.ShutDown()
	ctx := context.Background()
	h.Update(ctx, event.UpdateEvent{ObjectOld: withFinalizers("echo", "other"), ObjectNew: withFinalizers("echo", "other", contract.SyncFinalizer)}, q)
	// Another finalizer, or the sync finalizer going, is someone else's change.
	h.Update(ctx, event.UpdateEvent{ObjectOld: withFinalizers("theirs"), ObjectNew: withFinalizers("theirs", "other")}, q)
	h.Update(ctx, event.UpdateEvent{ObjectOld: withFinalizers("removed", contract.SyncFinalizer), ObjectNew: withFinalizers("removed")}, q)
	labelled := withFinalizers("labelled", contract.SyncFinalizer)
	labelled.SetLabels(map[string]string{"team": "a"})
	h.Update(ctx, event.UpdateEvent{ObjectOld: withFinalizers("labelled"), ObjectNew: labelled}, q)
	got := map[string]int{}
	for range 4 {
		item, priority, _ := q.GetWithPriority()
		got[item.Name] = priority
		q.Done(item)
	}
	want := map[string]int{"echo": handler.LowPriority, "theirs": 0, "removed": 0, "labelled": 0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("priorities = %v, want %v", got, want)
	}
}

func TestPendingChangesAreBounded(t *testing.T) {
	changes := &changeTimes{}
	for i := range maxPendingChanges + 10 {
		changes.seen(types.NamespacedName{Namespace: "ns", Name: fmt.Sprint(i)}, time.Now(), changeCreate)
	}
	if got := changes.len(); got != maxPendingChanges {
		t.Errorf("len() = %d, want %d", got, maxPendingChanges)
	}
}

func TestHostSourceQueuesTheFirstListBehindChanges(t *testing.T) {
	s := &hostSource{handler: &handler.EnqueueRequestForObject{}}
	q := priorityqueue.New[reconcile.Request]("test")
	defer q.ShutDown()
	funcs := s.funcs(context.Background(), q)
	funcs.OnAdd(fedAt("listed", 1), true)
	funcs.OnAdd(fedAt("created", 1), false)
	var got []string
	for range 2 {
		item, priority, _ := q.GetWithPriority()
		got = append(got, fmt.Sprintf("%s@%d", item.Name, priority))
		q.Done(item)
	}
	want := []string{"created@0", fmt.Sprintf("listed@%d", handler.LowPriority)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}
