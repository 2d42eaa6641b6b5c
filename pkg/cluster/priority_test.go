package cluster

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestAddLowQueuesMemberChangesBehindOthers(t *testing.T) {
	req := func(name string) reconcile.Request {
		return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: name}}
	}
	q := priorityqueue.New[reconcile.Request]("test")
	defer q.ShutDown()
	addLow(q, req("echo-1"))
	addLow(q, req("echo-2"))
	q.Add(req("user-change"))
	// A request queued low and then at normal priority keeps the higher one.
	addLow(q, req("both"))
	q.Add(req("both"))
	var got []string
	for range 4 {
		item, _, _ := q.GetWithPriority()
		got = append(got, item.Name)
		q.Done(item)
	}
	if got[0] != "user-change" && got[0] != "both" || got[1] != "user-change" && got[1] != "both" {
		t.Errorf("order = %v, want user-change and both before the echoes", got)
	}

	// A plain queue gets the request as it is.
	plain := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer plain.ShutDown()
	addLow(plain, req("echo"))
	if plain.Len() != 1 {
		t.Errorf("plain queue length = %d, want 1", plain.Len())
	}
}

func TestEnqueueLowQueuesLateAnswersBehindOthers(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("test")
	defer q.ShutDown()
	late := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "late"}}
	EnqueueLow().Generic(context.Background(), event.GenericEvent{Object: late}, q)
	// An event without an object enqueues nothing.
	EnqueueLow().Generic(context.Background(), event.GenericEvent{}, q)
	q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "user-change"}})
	if q.Len() != 2 {
		t.Fatalf("queue length = %d, want 2", q.Len())
	}
	var got []string
	for range 2 {
		item, priority, _ := q.GetWithPriority()
		got = append(got, fmt.Sprintf("%s/%s@%d", item.Namespace, item.Name, priority))
		q.Done(item)
	}
	want := []string{"ns/user-change@0", fmt.Sprintf("ns/late@%d", handler.LowPriority)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}
