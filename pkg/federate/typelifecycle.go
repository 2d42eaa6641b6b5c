package federate

import (
	"context"
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

// current returns a copy of the type's running controller's state.
func (r *TypeConfigReconciler) current(name string) (runningType, bool) {
	rt, ok := r.running.Get(name)
	if !ok {
		return runningType{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return *rt, true
}

// failed records a failure of the type's sync controller, which is not running, and returns
// the phase to report and the delay before it is started again.
func (r *TypeConfigReconciler) failed(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig, reason string, err error) (typePhase, time.Duration) {
	phase := typePhase{reason: reason, message: err.Error()}
	r.mu.Lock()
	b := r.retries[ftc.Name]
	if b == nil || !reflect.DeepEqual(b.spec, ftc.Spec) {
		b = &retry{spec: *ftc.Spec.DeepCopy()}
		r.retries[ftc.Name] = b
	}
	b.attempts++
	attempts, delay := b.attempts, retryDelay(b.attempts)
	b.next = r.now().Add(delay)
	b.phase = phase
	r.mu.Unlock()
	ctrl.LoggerFrom(ctx).Error(err, "the type's sync controller is not running; it is started again after a backoff", "reason", reason, "attempts", attempts, "retryAfter", delay)
	r.event(ftc, corev1.EventTypeWarning, reason, "Start", "The sync controller is not running, trying again in %s: %v", delay, err)
	return phase, delay
}

// backingOff returns the phase of a type that failed and the time left before it is started
// again, while its config's spec is the one that failed.
func (r *TypeConfigReconciler) backingOff(ftc *corev1beta1.FederatedTypeConfig) (typePhase, time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.retries[ftc.Name]
	if b == nil || !reflect.DeepEqual(b.spec, ftc.Spec) {
		return typePhase{}, 0, false
	}
	wait := b.next.Sub(r.now())
	if wait <= 0 {
		return typePhase{}, 0, false
	}
	return b.phase, wait, true
}

// forget drops the backoff of a type.
func (r *TypeConfigReconciler) forget(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.retries, name)
}

// report records what the goroutine that runs a type's controller found (synced, or err
// with its reason), and requeues the type's config. It does nothing for a controller that is
// no longer the type's.
func (r *TypeConfigReconciler) report(ctx context.Context, name string, rt *runningType, reason string, err error) {
	if current, _ := r.running.Get(name); current != rt {
		return
	}
	r.mu.Lock()
	if err != nil {
		rt.reason, rt.err = reason, err
	} else {
		rt.synced = true
	}
	r.mu.Unlock()
	r.requeueConfig(ctx, name)
}

// requeueConfig brings the type's FederatedTypeConfig back to its reconcile, unless ctx ends
// first.
func (r *TypeConfigReconciler) requeueConfig(ctx context.Context, name string) {
	ftc := &corev1beta1.FederatedTypeConfig{}
	ftc.SetNamespace(r.Namespace)
	ftc.SetName(name)
	select {
	case r.requeue <- event.GenericEvent{Object: ftc}:
	case <-ctx.Done():
	}
}

// setAccess sets the MemberAccess condition of the type from what its sync controller found,
// while it runs (phase Starting or Running).
func (r *TypeConfigReconciler) setAccess(status *corev1beta1.FederatedTypeConfigStatus, ftc *corev1beta1.FederatedTypeConfig, p typePhase) {
	rt, ok := r.current(ftc.Name)
	running := ok && (p.reason == corev1beta1.ReasonControllerRunning || p.reason == corev1beta1.ReasonControllerStarting)
	var denied map[string][]cluster.Denial
	if running {
		denied = rt.denials.Denied()
	}
	t := ftc.Spec.TargetType
	setAccessCondition(&status.Conditions, running, denied, schema.GroupResource{Group: t.Group, Resource: t.PluralName}, ftc.Generation, r.now())
}

// served checks that the host serves the type's federated and target kinds: that their
// CustomResourceDefinitions, if they have one, were not seen deleted, and that discovery
// lists them now. An error that does not say whether a kind is served (a timeout) counts as
// served: a running type is not stopped because discovery did not answer once.
func (r *TypeConfigReconciler) served(ctx context.Context, spec corev1beta1.FederatedTypeConfigSpec) error {
	for _, k := range []struct {
		what string
		res  corev1beta1.APIResource
	}{{"federated type", spec.FederatedType}, {"target type", spec.TargetType}} {
		if name := crdName(k.res); r.crdDeleted(name) {
			// Discovery may follow the deletion a moment later; the deletion is enough.
			return fmt.Errorf("the CustomResourceDefinition %s of the %s %s was deleted", name, k.what, k.res.Kind)
		}
		gv := schema.GroupVersion{Group: k.res.Group, Version: k.res.Version}
		list, err := r.Discovery.ServerResourcesForGroupVersion(gv.String())
		switch {
		case apierrors.IsNotFound(err):
			return fmt.Errorf("the host does not serve %s, the group version of the %s %s", gv, k.what, k.res.Kind)
		case err != nil:
			ctrl.LoggerFrom(ctx).Info("failed to tell whether the host serves a kind; assuming it does", "kind", k.res.Kind, "error", err.Error())
		case !servesResource(list, k.res):
			return fmt.Errorf("the host does not serve %s %s (resource %s), the %s", gv, k.res.Kind, k.res.PluralName, k.what)
		}
	}
	return nil
}

// crdDeleted tells whether the CustomResourceDefinition name was seen deleted, and not
// created again since.
func (r *TypeConfigReconciler) crdDeleted(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deletedCRDs[name]
}

// crdHandler maps an event of a CustomResourceDefinition to the FederatedTypeConfigs whose
// federated or target kind it serves, and remembers whether it was deleted. A change, unlike
// the first list, also ends the backoff of a type that failed: it may be the fix.
func (r *TypeConfigReconciler) crdHandler() handler.EventHandler {
	enqueue := func(ctx context.Context, crd client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request], deleted, changed bool) {
		list := &corev1beta1.FederatedTypeConfigList{}
		if err := r.Client.List(ctx, list, client.InNamespace(r.Namespace)); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "failed to list the FederatedTypeConfigs of a CustomResourceDefinition", "crd", crd.GetName())
			return
		}
		for _, ftc := range list.Items {
			if !usesCRD(ftc.Spec, crd.GetName()) {
				continue
			}
			r.mu.Lock()
			if deleted {
				r.deletedCRDs[crd.GetName()] = true
			} else {
				delete(r.deletedCRDs, crd.GetName())
			}
			if changed {
				delete(r.retries, ftc.Name)
			}
			r.mu.Unlock()
			q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ftc)})
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, e.Object, q, false, !e.IsInInitialList)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, e.ObjectNew, q, false, true)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, e.Object, q, true, true)
		},
	}
}

// event records an event on a FederatedTypeConfig.
func (r *TypeConfigReconciler) event(ftc *corev1beta1.FederatedTypeConfig, eventType, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(ftc, nil, eventType, reason, action, note, args...)
	}
}

func (r *TypeConfigReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// cacheSyncTimeout is CacheSyncTimeout (the --type-cache-sync-timeout flag) when set, else
// the KubeFedConfig's spec.controllerDuration.cacheSyncTimeout.
func (r *TypeConfigReconciler) cacheSyncTimeout(s kubefedconfig.Settings) time.Duration {
	if r.CacheSyncTimeout > 0 {
		return r.CacheSyncTimeout
	}
	return s.Durations.CacheSyncTimeout
}

// runController runs a type's sync controller until ctx ends or it fails, and reports a
// failure, which the reconcile logs: CacheSyncFailed, with what listing the federated kind
// answers, when its caches did not sync in time, else StartFailed.
func (r *TypeConfigReconciler) runController(ctx context.Context, name string, rt *runningType, c *syncTracker, t Type) {
	err := c.Start(ctx)
	if err == nil || ctx.Err() != nil {
		return
	}
	if !c.syncFailed() {
		r.report(ctx, name, rt, corev1beta1.ReasonControllerStartFailed, fmt.Errorf("the sync controller stopped: %w", err))
		return
	}
	err = fmt.Errorf("the caches did not sync within %s: %w", rt.cacheSyncTimeout, err)
	listCtx, cancel := context.WithTimeout(ctx, explainTimeout)
	defer cancel()
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(t.Federated.GroupVersion().WithKind(t.Federated.Kind + "List"))
	if lerr := r.APIReader.List(listCtx, list, client.Limit(1)); lerr != nil {
		err = fmt.Errorf("the caches did not sync within %s: listing %s fails: %w", rt.cacheSyncTimeout, t.Federated.Kind, lerr)
	}
	r.report(ctx, name, rt, corev1beta1.ReasonCacheSyncFailed, err)
}
