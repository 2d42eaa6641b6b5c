// Command fed-controller is fedplane's control plane. It runs in the host cluster, keeps the
// health of the member cluster registrations (KubeFedCluster) current, and propagates the
// federated objects of every enabled FederatedTypeConfig to the member clusters, spreading
// the replicas of workloads that a ReplicaSchedulingPreference governs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/fedplane/fedplane/api/contract"
	corev1alpha1 "github.com/fedplane/fedplane/api/core/v1alpha1"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	"github.com/fedplane/fedplane/internal/version"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/federate"
	"github.com/fedplane/fedplane/pkg/hostcache"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
	"github.com/fedplane/fedplane/pkg/kubefedmetrics"
	"github.com/fedplane/fedplane/pkg/rsp"
)

func main() {
	err := run(ctrl.SetupSignalHandler(), os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "fed-controller:", err)
		os.Exit(1)
	}
}

// The client rate limits. They only stop a runaway loop; the API servers' priority and
// fairness shares out their capacity. The host takes about four writes per propagated object (the
// finalizer, the status, the PropagatedVersion and an event) and each member one, so the
// host's limit is the higher; docs/performance.md shows how they were chosen.
const (
	defaultHostQPS     = 500
	defaultHostBurst   = 1000
	defaultMemberQPS   = 200
	defaultMemberBurst = 400
)

// shutdownTimeout bounds how long the controllers may take to stop on SIGTERM; the leader
// releases its Lease at the latest then. Each request to a member has its own, shorter, time
// limit (--member-timeout), and a pod's default grace period before SIGKILL is 30 s.
const shutdownTimeout = 20 * time.Second

// discoveryTimeout bounds each discovery request to the host.
const discoveryTimeout = 10 * time.Second

// options are fed-controller's flags.
type options struct {
	kubeconfig             string
	namespace              string
	metrics                metricsFlags
	probeAddr              string
	leaderElect            bool
	hostQPS, memberQPS     float64
	hostBurst, memberBurst int
	controlPlaneID         string
	memberTimeout          time.Duration
	typeCacheSyncTimeout   time.Duration
	// typeCacheSyncTimeoutSet tells whether --type-cache-sync-timeout was given.
	typeCacheSyncTimeoutSet bool
	unschedulableAfter      time.Duration
	// autoFederate are the FederatedTypeConfigs whose labelled host objects are federated.
	autoFederate map[string]bool
	version      bool
	zap          zap.Options
}

// typeSyncTimeout is the cache sync timeout of the type controllers: the flag's when it was
// given, else zero, for the KubeFedConfig's spec.controllerDuration.cacheSyncTimeout.
func (o *options) typeSyncTimeout() time.Duration {
	if o.typeCacheSyncTimeoutSet {
		return o.typeCacheSyncTimeout
	}
	return 0
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("fed-controller", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the host cluster; empty means in-cluster, or $KUBECONFIG")
	fs.StringVar(&o.namespace, "kubefed-namespace", corev1beta1.DefaultNamespace, "namespace of the control plane: KubeFedClusters, their Secrets, the KubeFedConfig and the FederatedTypeConfigs")
	o.metrics.bind(fs)
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address of the health probes (/healthz, /readyz); \"0\" turns them off")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader among the replicas, so that only one writes")
	fs.Float64Var(&o.hostQPS, "kube-api-qps", defaultHostQPS, "queries per second to the host cluster")
	fs.IntVar(&o.hostBurst, "kube-api-burst", defaultHostBurst, "burst of queries to the host cluster")
	fs.Float64Var(&o.memberQPS, "member-kube-api-qps", defaultMemberQPS, "queries per second to each member cluster")
	fs.IntVar(&o.memberBurst, "member-kube-api-burst", defaultMemberBurst, "burst of queries to each member cluster")
	fs.StringVar(&o.controlPlaneID, "control-plane-id", "", "id of this control plane, written on every member object it manages; another control plane never writes those objects. Empty means the UID of the --kubefed-namespace namespace in the host cluster")
	fs.DurationVar(&o.memberTimeout, "member-timeout", federate.DefaultMemberTimeout, "time limit of each request to a member cluster; a member that exceeds it is skipped for a while, so it holds up nothing")
	fs.DurationVar(&o.typeCacheSyncTimeout, "type-cache-sync-timeout", kubefedconfig.DefaultCacheSyncTimeout, "how long a federated type's sync controller waits for its caches to sync; after that its FederatedTypeConfig reports NotRunning (CacheSyncFailed) and the controller is started again after a backoff (5 s, doubling to 5 min). Given, it overrides the KubeFedConfig's spec.controllerDuration.cacheSyncTimeout; not given, that setting applies, read each time a type's sync controller starts, and the default is this flag's")
	fs.DurationVar(&o.unschedulableAfter, "unschedulable-threshold", rsp.DefaultUnschedulableThreshold, "how long a member's pods must be unschedulable before ReplicaSchedulingPreferences count its cluster as out of room and move replicas elsewhere")
	fs.Func("auto-federate", "comma-separated FederatedTypeConfig names (such as configmaps,deployments.apps) whose host objects labelled "+contract.FederateLabel+"="+contract.FederateLabelValue+" get a federated object of the same name, generated from them and owned by them (docs/fed-controller.md, Auto-federation). The controller's identity must be able to watch those host objects, and to create and delete federated objects. Empty, the default, federates nothing automatically", func(v string) error {
		names, err := parseTypeNames(v)
		if err != nil {
			return err
		}
		if o.autoFederate == nil {
			o.autoFederate = map[string]bool{}
		}
		for _, n := range names {
			o.autoFederate[n] = true
		}
		return nil
	})
	fs.BoolVar(&o.version, "version", false, "print the version and the commit fed-controller was built from, and exit")
	o.zap.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	// The flag overrides the KubeFedConfig only when it is given.
	fs.Visit(func(f *flag.Flag) {
		o.typeCacheSyncTimeoutSet = o.typeCacheSyncTimeoutSet || f.Name == "type-cache-sync-timeout"
	})
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	switch {
	case o.namespace == "":
		return nil, errors.New("--kubefed-namespace must not be empty")
	case o.hostQPS <= 0 || o.memberQPS <= 0 || o.hostBurst <= 0 || o.memberBurst <= 0:
		return nil, errors.New("QPS and burst flags must be positive")
	case o.memberTimeout <= 0:
		return nil, errors.New("--member-timeout must be positive")
	case o.typeCacheSyncTimeout <= 0:
		return nil, errors.New("--type-cache-sync-timeout must be positive")
	}
	if err := o.metrics.validate(); err != nil {
		return nil, err
	}
	return o, nil
}

// parseTypeNames reads the value of --auto-federate: FederatedTypeConfig names, which are
// resource names (plural.group, or plural for the core group).
func parseTypeNames(v string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			return nil, fmt.Errorf("%q is not a FederatedTypeConfig name (such as configmaps or deployments.apps): %s", n, strings.Join(errs, "; "))
		}
		names = append(names, n)
	}
	return names, nil
}

// run runs fed-controller with the command line args; --version goes to stdout, the rest to out.
func run(ctx context.Context, args []string, stdout, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	if o.version {
		return version.Print(stdout, "fed-controller")
	}
	log := zap.New(zap.UseFlagOptions(&o.zap), zap.WriteTo(out))
	ctrl.SetLogger(log)
	cfg, err := hostConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = float32(o.hostQPS), o.hostBurst
	scheme, err := newScheme()
	if err != nil {
		return err
	}
	start := readStartSettings(ctx, cfg, scheme, o.namespace, log)
	mgr, err := ctrl.NewManager(cfg, managerOptions(o, scheme, start.settings))
	if err != nil {
		return fmt.Errorf("failed to create the manager: %w", err)
	}
	if err := mgr.Add(ensureConfig(mgr, o.namespace, log, start)); err != nil {
		return err
	}
	id, err := controlPlaneID(ctx, cfg, o)
	if err != nil {
		return err
	}
	if err := setupControllers(mgr, cfg, o, id); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	log.Info("starting fed-controller", "namespace", o.namespace, "leaderElect", o.leaderElect, "controlPlaneID", id)
	return mgr.Start(ctx)
}

// newScheme returns the scheme of every API that fed-controller reads.
func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, corev1beta1.AddToScheme, corev1alpha1.AddToScheme, schedulingv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("failed to build the scheme: %w", err)
		}
	}
	return scheme, nil
}

// startSettings are the KubeFedConfig's settings read once before the manager is created:
// those that apply only at start (the leader election's timings) come from them.
type startSettings struct {
	settings kubefedconfig.Settings
	// err is why the KubeFedConfig could not be read, and the defaults apply; nil when it
	// was read or is missing.
	err error
}

// readStartSettings reads the KubeFedConfig of namespace directly, since no cache runs yet.
// A missing config gives the defaults; an unreadable one gives them too, is logged, and is
// reported later in a Warning event on the config (by ensureConfig).
func readStartSettings(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, namespace string, log logr.Logger) startSettings {
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		err = fmt.Errorf("failed to create a client to read the KubeFedConfig: %w", err)
		log.Error(err, "the KubeFedConfig's defaults apply until the next start")
		return startSettings{settings: kubefedconfig.SettingsOf(nil), err: err}
	}
	readCtx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	s, err := kubefedconfig.Read(readCtx, c, namespace)
	if err != nil {
		log.Error(err, "the KubeFedConfig's defaults apply until the next start")
		return startSettings{settings: kubefedconfig.SettingsOf(nil), err: err}
	}
	return startSettings{settings: s}
}

// managerOptions are the manager's options: its metrics and probe endpoints, the leader
// election with the KubeFedConfig's timings, and the caches.
func managerOptions(o *options, scheme *runtime.Scheme, s kubefedconfig.Settings) ctrl.Options {
	metricsOptions, pprofAddr := o.metrics.options()
	return ctrl.Options{
		Scheme:           scheme,
		Metrics:          metricsOptions,
		PprofBindAddress: pprofAddr,
		// Federated objects are unstructured: read them from the cache too.
		Client:                  client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "fed-controller.core.kubefed.io",
		LeaderElectionNamespace: o.namespace,
		// spec.leaderElect's timings, read at start.
		LeaseDuration: ptr.To(s.LeaderElection.LeaseDuration),
		RenewDeadline: ptr.To(s.LeaderElection.RenewDeadline),
		RetryPeriod:   ptr.To(s.LeaderElection.RetryPeriod),
		// A leader that stops (SIGTERM) releases the Lease once its controllers have stopped,
		// so that a standby takes over within its retry period instead of waiting for the
		// Lease to expire. It is safe because run returns, and the process exits, as soon as
		// the manager has stopped.
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       ptr.To(shutdownTimeout),
		Cache:                         cacheOptions(o.namespace),
		NewCache: func(cfg *rest.Config, opts cache.Options) (cache.Cache, error) {
			c, err := cache.New(cfg, opts)
			if err != nil {
				return nil, err
			}
			return hostcache.New(c), nil
		},
	}
}

// cacheOptions keep only the control plane's namespace's objects of the kinds that live there:
// Secrets elsewhere are never cached.
func cacheOptions(namespace string) cache.Options {
	inNamespace := cache.ByObject{Namespaces: map[string]cache.Config{namespace: {}}}
	return cache.Options{
		// Managed fields are dropped, and unstructured objects kept compact (see hostcache).
		DefaultTransform: hostcache.Transform(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}:                   inNamespace,
			&corev1beta1.KubeFedCluster{}:      inNamespace,
			&corev1beta1.KubeFedConfig{}:       inNamespace,
			&corev1beta1.FederatedTypeConfig{}: inNamespace,
		},
	}
}

// setupControllers registers the metrics and sets up the cluster health, FederatedTypeConfig
// and ReplicaSchedulingPreference controllers, which share the members' clients and caches.
func setupControllers(mgr manager.Manager, cfg *rest.Config, o *options, id string) error {
	metrics, err := cluster.NewMetrics(ctrlmetrics.Registry)
	if err != nil {
		return fmt.Errorf("failed to register metrics: %w", err)
	}
	// KubeFed's metric names, beside fedplane's, fed from the same places.
	kubefed, err := kubefedmetrics.New(ctrlmetrics.Registry)
	if err != nil {
		return fmt.Errorf("failed to register metrics: %w", err)
	}
	metrics.KubeFed = kubefed
	// Members' clients and caches, for the controllers that read and write members.
	members := &cluster.Cache{Scheme: mgr.GetScheme(), Namespace: o.namespace, Metrics: metrics}
	if err := setupHealth(mgr, o, members, metrics); err != nil {
		return err
	}
	if err := setupTypes(mgr, cfg, o, id, members, kubefed); err != nil {
		return err
	}
	return setupScheduler(mgr, o, members)
}

// setupHealth sets up the controller that probes the members (KubeFedCluster).
func setupHealth(mgr manager.Manager, o *options, members *cluster.Cache, metrics *cluster.Metrics) error {
	health := &cluster.HealthReconciler{
		Client: mgr.GetClient(), Namespace: o.namespace, Metrics: metrics, Cache: members,
		MemberQPS: float32(o.memberQPS), MemberBurst: o.memberBurst, Recorder: mgr.GetEventRecorder("fed-controller"),
	}
	if err := health.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("failed to set up the KubeFedCluster health controller: %w", err)
	}
	return nil
}

// setupTypes sets up the FederatedTypeConfig controller, which runs a sync controller per
// enabled type.
func setupTypes(mgr manager.Manager, cfg *rest.Config, o *options, id string, members *cluster.Cache, kubefed *kubefedmetrics.Metrics) error {
	syncMetrics, err := federate.NewMetrics(ctrlmetrics.Registry)
	if err != nil {
		return fmt.Errorf("failed to register metrics: %w", err)
	}
	syncMetrics.KubeFed = kubefed
	// Discovery tells the FederatedTypeConfig controller whether a kind is served now; each
	// request is bounded, so that a slow aggregated API does not hold a reconcile.
	discoveryCfg := rest.CopyConfig(cfg)
	discoveryCfg.Timeout = discoveryTimeout
	hostDiscovery, err := discovery.NewDiscoveryClientForConfig(discoveryCfg)
	if err != nil {
		return fmt.Errorf("failed to create the host's discovery client: %w", err)
	}
	types := &federate.TypeConfigReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Cache: mgr.GetCache(), Mapper: mgr.GetRESTMapper(),
		Discovery: hostDiscovery, Members: members, Recorder: mgr.GetEventRecorder("fed-controller"), Namespace: o.namespace,
		ControlPlaneID: id, MemberTimeout: o.memberTimeout, CacheSyncTimeout: o.typeSyncTimeout(), Metrics: syncMetrics,
		AutoFederate: o.autoFederate,
	}
	if len(o.autoFederate) > 0 {
		if types.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
			return fmt.Errorf("failed to create the host's dynamic client: %w", err)
		}
		mgr.GetLogger().Info("auto-federating the labelled host objects of some types", "types", slices.Sorted(maps.Keys(o.autoFederate)), "label", contract.FederateLabel)
	}
	if err := types.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("failed to set up the FederatedTypeConfig controller: %w", err)
	}
	return nil
}

// setupScheduler sets up the ReplicaSchedulingPreference controller.
func setupScheduler(mgr manager.Manager, o *options, members *cluster.Cache) error {
	rspMetrics, err := rsp.NewMetrics(ctrlmetrics.Registry)
	if err != nil {
		return fmt.Errorf("failed to register metrics: %w", err)
	}
	scheduler := &rsp.Reconciler{
		Client: mgr.GetClient(), Members: members, Recorder: mgr.GetEventRecorder("fed-controller"), Namespace: o.namespace,
		MemberTimeout: o.memberTimeout, UnschedulableThreshold: o.unschedulableAfter, Metrics: rspMetrics,
	}
	if err := scheduler.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("failed to set up the ReplicaSchedulingPreference controller: %w", err)
	}
	return nil
}

// ensureConfig is run by the leader: it makes sure the KubeFedConfig exists, with KubeFed's
// defaults, and reports on it, in Warning events, the settings that are not read, those that
// apply otherwise than written, those that changed since start and apply at the next start,
// and a config that could not be read at start.
func ensureConfig(mgr manager.Manager, namespace string, log logr.Logger, start startSettings) manager.RunnableFunc {
	return func(ctx context.Context) error {
		kfc, err := kubefedconfig.Ensure(ctx, mgr.GetClient(), namespace)
		if err != nil {
			log.Error(err, "failed to ensure the KubeFedConfig; the defaults apply meanwhile")
			return nil
		}
		recorder := mgr.GetEventRecorder("fed-controller")
		if start.err != nil {
			recorder.Eventf(kfc, nil, corev1.EventTypeWarning, "SettingsUnread", "Start",
				"the KubeFedConfig could not be read at start, so the leader election runs with the defaults until the next start: %v", start.err)
		}
		report(log, recorder, kfc, "SettingsIgnored", "KubeFedConfig settings are not read: ", kubefedconfig.Ignored(kfc))
		report(log, recorder, kfc, "SettingsSubstituted", "KubeFedConfig settings are not honoured as written: ", kubefedconfig.Substituted(kfc))
		if start.err == nil {
			report(log, recorder, kfc, "SettingsAtNextStart", "KubeFedConfig settings changed since start apply at the next start: ",
				kubefedconfig.AtNextStart(start.settings, kubefedconfig.SettingsOf(kfc)))
		}
		return nil
	}
}

// report logs the settings of kfc listed in entries, after prefix, and records them in a
// Warning event on it with reason; no entries, no event.
func report(log logr.Logger, recorder events.EventRecorder, kfc *corev1beta1.KubeFedConfig, reason, prefix string, entries []string) {
	if len(entries) == 0 {
		return
	}
	msg := prefix + strings.Join(entries, "; ")
	log.Info(msg, "kubefedconfig", klog.KObj(kfc))
	recorder.Eventf(kfc, nil, corev1.EventTypeWarning, reason, "Start", "%s", msg)
}

// controlPlaneID returns the --control-plane-id flag, or else the UID of the control plane's
// namespace, which is stable for the life of the installation.
func controlPlaneID(ctx context.Context, cfg *rest.Config, o *options) (string, error) {
	if o.controlPlaneID != "" {
		return o.controlPlaneID, nil
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, o.namespace, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to read namespace %s for the control plane id (or set --control-plane-id): %w", o.namespace, err)
	}
	return string(ns.UID), nil
}

// hostConfig loads the host's client configuration from path, or as controller-runtime finds
// it (in-cluster, then $KUBECONFIG and ~/.kube/config) when path is empty.
func hostConfig(path string) (*rest.Config, error) {
	if path == "" {
		cfg, err := ctrl.GetConfig()
		if err != nil {
			return nil, fmt.Errorf("failed to find the host cluster's configuration: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}
