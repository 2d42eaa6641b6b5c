package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/conflict"
	"github.com/fedplane/fedplane/pkg/goroutines"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
	"github.com/fedplane/fedplane/pkg/kubefedmetrics"
)

// HealthReconciler keeps the health status of every KubeFedCluster of its namespace current.
// It runs one probe loop per cluster, in parallel, each probe bounded by the health check
// timeout, so that a hung member never delays the others; a loop writes the status only when
// it changes.
type HealthReconciler struct {
	// Client reads and writes the host.
	Client client.Client
	// Namespace is the control plane's namespace.
	Namespace string
	// Metrics records probes; nil records nothing.
	Metrics *Metrics
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Cache, when set, gets a connection to each member once it is Ready, until its
	// registration goes away or changes.
	Cache *Cache
	// MemberQPS and MemberBurst limit the requests to each member; zero keeps client-go's
	// defaults.
	MemberQPS   float32
	MemberBurst int
	// Recorder records an event on a KubeFedCluster whenever its readiness changes; nil
	// records none.
	Recorder events.EventRecorder

	base context.Context
	// loops are the probe loops, by KubeFedCluster name, each with the fingerprint of what it
	// depends on.
	loops goroutines.Registry[string, string]

	// ids are the registrations' claims to clusters, by KubeFedCluster name.
	idMu sync.Mutex
	ids  map[string]identity
}

// SetupWithManager registers the reconciler, and the runnable that stops every probe loop
// when the manager stops.
func (r *HealthReconciler) SetupWithManager(mgr ctrl.Manager) error {
	base, cancel := context.WithCancel(context.Background())
	r.base = base
	if r.Now == nil {
		r.Now = time.Now
	}
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		cancel()
		r.loops.StopAll()
		return nil
	})); err != nil {
		return err
	}
	inNamespace := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetNamespace() == r.Namespace })
	return ctrl.NewControllerManagedBy(mgr).
		Named("kubefedcluster-health").
		For(&corev1beta1.KubeFedCluster{}, builder.WithPredicates(inNamespace)).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.clustersUsingSecret), builder.WithPredicates(inNamespace)).
		Watches(&corev1beta1.KubeFedConfig{}, handler.EnqueueRequestsFromMapFunc(r.allClusters), builder.WithPredicates(inNamespace)).
		Complete(r)
}

// Reconcile starts, restarts or stops the probe loop of one cluster.
func (r *HealthReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx).WithValues("cluster", req.Name)
	kfc := &corev1beta1.KubeFedCluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, kfc); err != nil {
		if apierrors.IsNotFound(err) {
			r.loops.Stop(req.Name)
			r.release(req.Name)
			r.Metrics.forget(req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("failed to read KubeFedCluster: %w", err)
	}
	if !kfc.DeletionTimestamp.IsZero() {
		r.loops.Stop(req.Name)
		r.release(req.Name)
		return ctrl.Result{}, nil
	}
	secret := &corev1.Secret{}
	secretErr := r.Client.Get(ctx, types.NamespacedName{Namespace: req.Namespace, Name: kfc.Spec.SecretRef.Name}, secret)
	switch {
	case apierrors.IsNotFound(secretErr):
		secret = nil
	case secretErr != nil:
		return ctrl.Result{}, fmt.Errorf("failed to read Secret %s: %w", kfc.Spec.SecretRef.Name, secretErr)
	}
	hc, err := r.healthCheck(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	fp, err := fingerprint(kfc.Spec, secret, hc)
	if err != nil {
		return ctrl.Result{}, err
	}
	if current, running := r.loops.Get(req.Name); running && current == fp {
		return ctrl.Result{}, nil
	}
	// The loop that ran is stopped before the new one starts, and before its prober is built.
	r.loops.Stop(req.Name)
	cfg, prober, probe := r.newProber(kfc, secret)
	log.Info("starting health probes", "period", hc.Period, "timeout", hc.Timeout, "endpoint", kfc.Spec.APIEndpoint)
	r.start(kfc, fp, cfg, prober, probe, hc)
	return ctrl.Result{}, nil
}

// newProber builds the member's client configuration and prober, or the Malformed probe
// result that says why it cannot.
func (r *HealthReconciler) newProber(kfc *corev1beta1.KubeFedCluster, secret *corev1.Secret) (*rest.Config, *Prober, Probe) {
	cfg, err := RESTConfig(kfc, secret)
	if err != nil {
		return nil, nil, Probe{Outcome: Malformed, Detail: err.Error()}
	}
	cfg.QPS, cfg.Burst = r.MemberQPS, r.MemberBurst
	prober, err := NewProber(cfg)
	if err != nil {
		return nil, nil, Probe{Outcome: Malformed, Detail: err.Error()}
	}
	return cfg, prober, Probe{}
}

func (r *HealthReconciler) healthCheck(ctx context.Context) (HealthCheck, error) {
	settings, err := kubefedconfig.Read(ctx, r.Client, r.Namespace)
	return settings.HealthCheck, err
}

// fingerprint identifies what a probe loop depends on; a change restarts the loop.
func fingerprint(spec corev1beta1.KubeFedClusterSpec, secret *corev1.Secret, hc HealthCheck) (string, error) {
	var secretVersion string
	if secret != nil {
		secretVersion = secret.ResourceVersion
	}
	// Only the Secret's resourceVersion is hashed, never its data.
	b, err := json.Marshal(struct {
		Spec                corev1beta1.KubeFedClusterSpec
		CredentialsRevision string
		HealthCheck         HealthCheck
	}{spec, secretVersion, hc})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// start starts the probe loop of the registration kfc, which depends on what fp fingerprints.
func (r *HealthReconciler) start(kfc *corev1beta1.KubeFedCluster, fp string, cfg *rest.Config, prober *Prober, malformed Probe, hc HealthCheck) {
	log := ctrl.Log.WithName("kubefedcluster-health").WithValues("cluster", kfc.Name, "KubeFedCluster", klog.KObj(kfc))
	// The loop keeps the registration's identity, for its events, and the status it read.
	reg := &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: kfc.Namespace, Name: kfc.Name, UID: kfc.UID, CreationTimestamp: kfc.CreationTimestamp},
		Status:     *kfc.Status.DeepCopy(),
	}
	r.loops.Start(r.base, kfc.Name, fp, func(ctx context.Context) {
		r.run(ctrl.LoggerInto(ctx, log), reg, cfg, prober, malformed, hc)
	})
}

// run probes one cluster every period until ctx ends. reg holds the registration's
// identity and the status it had when the loop started.
func (r *HealthReconciler) run(ctx context.Context, reg *corev1beta1.KubeFedCluster, cfg *rest.Config, prober *Prober, malformed Probe, hc HealthCheck) {
	name, created, status := reg.Name, reg.CreationTimestamp.Time, reg.Status
	if status.ClusterID != "" {
		// The identity recorded earlier holds the registration's place until a probe says
		// otherwise, so that after a restart an older registration that is down still keeps a
		// newer duplicate out.
		r.claim(name, status.ClusterID, created)
	}
	ticker := time.NewTicker(hc.Period)
	defer ticker.Stop()
	connected := false
	defer func() {
		if connected {
			r.Cache.Disconnect(name)
		}
	}()
	var streak Streak
	pending := false
	for {
		started := r.Now()
		probe := r.probe(ctx, name, created, prober, malformed, hc)
		if ctx.Err() != nil {
			return
		}
		if probe.Outcome == Duplicate && connected {
			// Another registration of the same cluster is older: nothing goes through this one.
			r.Cache.Disconnect(name)
			connected = false
		}
		streak = streak.Observe(probe.Outcome)
		if r.Cache != nil && probe.Outcome == Healthy {
			// A member that answers again is no longer skipped by writers, before its
			// readiness change brings them back to it.
			r.Cache.ReportSuccess(name)
		}
		next, changed := r.nextStatus(ctx, status, streak, probe, prober, hc)
		if changed || pending || !sameTopology(status, next) || status.ClusterID != next.ClusterID {
			pending = !r.publish(ctx, reg, status, next)
			if !pending {
				status = next
			}
		}
		if r.Cache != nil && cfg != nil && !connected && IsReady(status) {
			connected = r.connect(ctx, reg, cfg)
		}
		r.record(name, probe, r.Now().Sub(started), IsReady(status))
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// probe probes the member, or gives the malformed result when there is no prober, and
// identifies a healthy member.
func (r *HealthReconciler) probe(ctx context.Context, name string, created time.Time, prober *Prober, malformed Probe, hc HealthCheck) Probe {
	if prober == nil {
		return malformed
	}
	probe := prober.Probe(ctx, hc.Timeout)
	if probe.Outcome == Healthy {
		probe = r.identify(ctx, name, created, prober, hc.Timeout, probe)
	}
	return probe
}

// nextStatus decides the cluster's status after a probe; streak must already count it. A
// healthy member that is Ready, and whose readiness changed or whose version is not known
// yet, has its topology read again.
func (r *HealthReconciler) nextStatus(ctx context.Context, status corev1beta1.KubeFedClusterStatus, streak Streak, probe Probe, prober *Prober, hc HealthCheck) (corev1beta1.KubeFedClusterStatus, bool) {
	next := status
	conds, changed := NextConditions(status.Conditions, streak, probe, hc, metav1.NewTime(r.Now()))
	next.Conditions = conds
	if probe.ClusterID != "" {
		next.ClusterID = probe.ClusterID
	}
	if prober != nil && probe.Outcome == Healthy && IsReady(next) && (changed || status.KubernetesVersion == "") {
		if topo, err := prober.Topology(ctx, hc.Timeout); err != nil {
			ctrl.LoggerFrom(ctx).V(1).Info("failed to read the member's topology", "error", err.Error())
		} else {
			next.KubernetesVersion, next.Region, next.Zones = topo.Version, topo.Region, topo.Zones
		}
	}
	return next, changed
}

// publish writes the cluster's next status and, once it is written, records an event when
// its readiness changed from status's. It tells whether the status was written.
func (r *HealthReconciler) publish(ctx context.Context, reg *corev1beta1.KubeFedCluster, status, next corev1beta1.KubeFedClusterStatus) bool {
	log := ctrl.LoggerFrom(ctx)
	if err := r.writeStatus(ctx, client.ObjectKeyFromObject(reg), next); err != nil {
		if !conflict.Benign(ctx, "write the cluster's status", err) {
			log.Error(err, "failed to write the cluster's status; will retry at the next probe")
			if r.Recorder != nil {
				r.Recorder.Eventf(reg, nil, corev1.EventTypeWarning, "StatusWriteFailed", "Probe", "Failed to write the status: %v", err)
			}
		}
		return false
	}
	if ev, ok := readinessChange(status.Conditions, next.Conditions); ok {
		log.Info("cluster readiness changed", "reason", ev.reason, "message", ev.note)
		if r.Recorder != nil {
			r.Recorder.Eventf(reg, nil, ev.kind, ev.reason, "Probe", "%s", ev.note)
		}
	}
	return true
}

// connect connects the member's cache, and tells whether it is connected.
// A failure is told in a Warning event on the registration too, as its status says Ready.
func (r *HealthReconciler) connect(ctx context.Context, reg *corev1beta1.KubeFedCluster, cfg *rest.Config) bool {
	connecting := r.Now()
	err := r.Cache.Connect(r.base, reg.Name, cfg)
	if r.Metrics != nil {
		r.Metrics.KubeFed.Connected(r.Now().Sub(connecting))
	}
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to connect the member's cache; will retry at the next probe")
		if r.Recorder != nil {
			r.Recorder.Eventf(reg, nil, corev1.EventTypeWarning, "CacheConnectFailed", "Connect",
				"Failed to connect the member's cache; objects are not propagated to it until it connects (tried again at each probe): %v", err)
		}
		return false
	}
	return true
}

func (r *HealthReconciler) record(cluster string, probe Probe, took time.Duration, ready bool) {
	if r.Metrics == nil {
		return
	}
	r.Metrics.Probes.WithLabelValues(cluster, probe.Outcome.String()).Inc()
	if probe.Outcome != Healthy {
		r.Metrics.ProbeErrors.WithLabelValues(cluster).Inc()
	}
	r.Metrics.ProbeDuration.WithLabelValues(cluster).Observe(took.Seconds())
	v := 0.0
	if ready {
		v = 1
	}
	r.Metrics.Ready.WithLabelValues(cluster).Set(v)
	// KubeFed's states: ready; offline when the member does not answer; notready otherwise.
	state := kubefedmetrics.StateNotReady
	switch {
	case ready:
		state = kubefedmetrics.StateReady
	case probe.Outcome == Unreachable:
		state = kubefedmetrics.StateOffline
	}
	r.Metrics.KubeFed.ClusterState(cluster, state, took)
}

func sameTopology(a, b corev1beta1.KubeFedClusterStatus) bool {
	if a.KubernetesVersion != b.KubernetesVersion || deref(a.Region) != deref(b.Region) || len(a.Zones) != len(b.Zones) {
		return false
	}
	for i := range a.Zones {
		if a.Zones[i] != b.Zones[i] {
			return false
		}
	}
	return true
}

// writeStatus replaces the cluster's status with a merge patch of the status subresource.
func (r *HealthReconciler) writeStatus(ctx context.Context, key types.NamespacedName, status corev1beta1.KubeFedClusterStatus) error {
	body := map[string]any{
		"conditions":        status.Conditions,
		"kubernetesVersion": status.KubernetesVersion,
		"region":            status.Region,
		"zones":             status.Zones,
		"clusterID":         status.ClusterID,
	}
	patch, err := json.Marshal(map[string]any{"status": body})
	if err != nil {
		return err
	}
	obj := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	writeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.Client.Status().Patch(writeCtx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("failed to patch the status of KubeFedCluster %s: %w", key, err)
	}
	return nil
}

func (r *HealthReconciler) clustersUsingSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var list corev1beta1.KubeFedClusterList
	if err := r.Client.List(ctx, &list, client.InNamespace(r.Namespace)); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, c := range list.Items {
		if c.Spec.SecretRef.Name == o.GetName() {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&c)})
		}
	}
	return reqs
}

func (r *HealthReconciler) allClusters(ctx context.Context, _ client.Object) []reconcile.Request {
	var list corev1beta1.KubeFedClusterList
	if err := r.Client.List(ctx, &list, client.InNamespace(r.Namespace)); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, c := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&c)})
	}
	return reqs
}
