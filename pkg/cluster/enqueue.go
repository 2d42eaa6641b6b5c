package cluster

import (
	"context"
	"reflect"

	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

// EnqueueAllOnChange is the handler of KubeFedCluster events for controllers that look at
// every object again when a cluster changes. A registration that comes or goes, or a change
// of its labels, spec or annotations, enqueues every request of all at once. A change of
// readiness alone enqueues them after the KubeFedConfig's spec.controllerDuration delay, read
// from reader in namespace: availableDelay when the cluster became Ready, unavailableDelay when
// it stopped being Ready, so that a cluster that flaps does not churn every object. An object
// that changes meanwhile is reconciled at once, with the cluster's readiness as it is then.
// Use it with PlacementChanged, which drops the other updates.
func EnqueueAllOnChange(reader client.Reader, namespace string, all func(context.Context) []reconcile.Request) handler.EventHandler {
	now := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, req := range all(ctx) {
			q.Add(req)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, _ event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			now(ctx, q)
		},
		DeleteFunc: func(ctx context.Context, _ event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			now(ctx, q)
		},
		GenericFunc: func(ctx context.Context, _ event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			now(ctx, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			o, ok1 := e.ObjectOld.(*corev1beta1.KubeFedCluster)
			n, ok2 := e.ObjectNew.(*corev1beta1.KubeFedCluster)
			if !ok1 || !ok2 || !onlyReadinessChanged(o, n) {
				now(ctx, q)
				return
			}
			settings, err := kubefedconfig.Read(ctx, reader, namespace)
			if err != nil {
				// The defaults apply; the KubeFedConfig's own watch tells a failure to read it.
				ctrl.LoggerFrom(ctx).V(1).Info("reading the readiness delays", "error", err.Error())
			}
			delay := settings.Durations.UnavailableDelay
			if IsReady(n.Status) {
				delay = settings.Durations.AvailableDelay
			}
			if delay <= 0 {
				now(ctx, q)
				return
			}
			for _, req := range all(ctx) {
				q.AddAfter(req, delay)
			}
		},
	}
}

// onlyReadinessChanged tells whether the cluster's readiness changed and nothing else that
// PlacementChanged looks at did.
func onlyReadinessChanged(o, n *corev1beta1.KubeFedCluster) bool {
	return IsReady(o.Status) != IsReady(n.Status) && reflect.DeepEqual(o.Labels, n.Labels) &&
		o.Generation == n.Generation && reflect.DeepEqual(o.Annotations, n.Annotations)
}

// EnqueueLow is the handler of generic events that enqueues each event's object at low
// priority (see addLow). fed-controller sends through it the objects whose members answered
// after their reconcile stopped waiting: such a reconcile writes the status of work already
// done, and a user's change of another object must not wait behind thousands of them.
func EnqueueLow() handler.EventHandler {
	return handler.Funcs{
		GenericFunc: func(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if e.Object != nil {
				addLow(q, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.Object)})
			}
		},
	}
}
