package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"

	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

const (
	// limitNamespace holds the plain writer's objects (a suffix per run); benchNamespace
	// fed-controller's.
	limitNamespace = "bench-limit"
	benchNamespace = "bench"
	// controlPlaneID is fed-controller's id in the bench.
	controlPlaneID = "bench"
	// limitFinalizer is the finalizer the plain writer adds, as fed-controller adds its own.
	limitFinalizer = "bench.fedplane.io/limit"
)

// bench is one run: the lab, its clients and fed-controller.
type bench struct {
	cfg     *config
	kind    kind
	dir     string
	lab     *framework.Lab
	members []string
	// host is a controller-runtime client of the host; hostDyn and memberDyn are dynamic
	// clients without client-side rate limits.
	host       client.Client
	hostDyn    dynamic.Interface
	memberDyn  map[string]dynamic.Interface
	memberCfg  map[string]*rest.Config
	controller *framework.Controller
	tracker    *tracker
	result     *Result
	logf       func(format string, args ...any)
}

// unthrottled returns cfg without client-side rate limiting.
func unthrottled(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	return cfg
}

func newBench(ctx context.Context, c *config) (*bench, error) {
	b := &bench{cfg: c, kind: kinds[c.kind], memberDyn: map[string]dynamic.Interface{}, memberCfg: map[string]*rest.Config{}}
	b.kind.size = c.objectSize
	b.logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	for i := 1; i <= c.m; i++ {
		b.members = append(b.members, fmt.Sprintf("member-%02d", i))
	}
	bins, err := framework.BinariesIn(c.bin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(c.binary); err != nil {
		return nil, fmt.Errorf("no fed-controller at %s (run `make build`): %w", c.binary, err)
	}
	if b.dir, err = os.MkdirTemp("", "fedplane-bench-"); err != nil {
		return nil, err
	}
	started := time.Now()
	b.lab, err = framework.Start(ctx, framework.Options{Dir: b.dir, Binaries: bins, Members: b.members, Detach: c.keepLab, Logf: b.logf})
	if err != nil {
		return nil, fmt.Errorf("the lab did not start (state in %s): %w", b.dir, err)
	}
	b.logf("lab up in %s: host and %d members", time.Since(started).Round(time.Second), c.m)
	if b.host, err = b.lab.Host().InstallAPI(ctx); err != nil {
		b.close()
		return nil, err
	}
	if b.hostDyn, err = dynamic.NewForConfig(unthrottled(b.lab.Host().RESTConfig())); err != nil {
		b.close()
		return nil, err
	}
	if c.crds != "" {
		if err := b.replaceCRDs(ctx, c.crds); err != nil {
			b.close()
			return nil, err
		}
	}
	for _, name := range b.members {
		m := b.lab.Cluster(name)
		b.memberCfg[name] = unthrottled(m.RESTConfig())
		if b.memberDyn[name], err = dynamic.NewForConfig(b.memberCfg[name]); err != nil {
			b.close()
			return nil, err
		}
		if err := m.Register(ctx, b.host, framework.Registration{CABundle: m.CACert()}); err != nil {
			b.close()
			return nil, err
		}
	}
	return b, nil
}

// close stops fed-controller and the lab, unless asked to keep them.
func (b *bench) close() {
	if b.cfg.keepLab && b.lab != nil {
		b.logf("lab kept: kubeconfig %s; fed-controller log %s; stop it with `go run ./hack/lab down --dir %s`", b.lab.KubeconfigPath(), b.controllerLog(), b.dir)
		return
	}
	if b.controller != nil {
		b.controller.Stop()
	}
	if b.lab != nil {
		if err := b.lab.Stop(); err != nil {
			b.logf("the lab did not stop cleanly: %v", err)
		}
	}
	_ = os.RemoveAll(b.dir)
}

func (b *bench) controllerLog() string {
	if b.controller == nil {
		return "(not started)"
	}
	return b.controller.LogPath()
}

// run runs the phases in order.
func (b *bench) run(ctx context.Context) (*Result, error) {
	b.result = &Result{
		Started: time.Now().UTC(),
		Params: Params{
			Kind: b.cfg.kind, N: b.cfg.n, M: b.cfg.m, Inflight: b.cfg.inflight, Updates: b.cfg.updates,
			Idle: b.cfg.idle.String(), Workers: b.cfg.workers, Members: b.members, ControllerArgs: append([]string{}, b.cfg.controller...),
			ObjectSize: b.kind.size,
		},
		Machine:  machine(),
		Versions: Versions{Fedplane: fedplaneVersion(), Go: runtime.Version()},
	}
	cs, err := kubernetes.NewForConfig(b.lab.Host().RESTConfig())
	if err != nil {
		return nil, err
	}
	if v, err := cs.Discovery().ServerVersion(); err == nil {
		b.result.Versions.Kubernetes = v.GitVersion
	}
	phases := []struct {
		name string
		f    func(context.Context) error
	}{
		{"requests", b.requestCosts},
		{"limit", b.limit},
		{"start", b.startController},
		{"converge", b.converge},
		{"update", b.update},
		{"idle", b.idle},
		{"delete", b.delete},
		{"cost", b.cost},
	}
	if b.cfg.onlyCosts {
		phases = phases[:1]
	}
	for _, p := range phases {
		pctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
		if p.name == "converge" {
			// The member watches serve converge, update and delete.
			if b.tracker, err = newTracker(ctx, b.kind, benchNamespace, b.memberCfg); err != nil {
				cancel()
				return nil, err
			}
			defer b.tracker.Close()
		}
		err := p.f(pctx)
		cancel()
		// The peak so far is kept even when the phase failed: a large run that fails late
		// still tells how much memory it took.
		if b.controller != nil {
			if _, peak, err := memoryMB(b.controller.Pid()); err == nil {
				if b.result.PeakRSSMBAfter == nil {
					b.result.PeakRSSMBAfter = map[string]float64{}
				}
				b.result.PeakRSSMBAfter[p.name] = round(peak, 1)
				b.result.PeakRSSMB = max(b.result.PeakRSSMB, round(peak, 1))
			}
		}
		if err != nil {
			b.result.FailedPhase, b.result.Error = p.name, err.Error()
			return b.result, fmt.Errorf("phase %s: %w (fed-controller log: %s)", p.name, err, b.controllerLog())
		}
	}
	return b.result, nil
}

// inParallel runs f(0) ... f(n-1) with at most inflight running at once, and returns the
// first error.
func inParallel(ctx context.Context, inflight, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range min(inflight, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

func (b *bench) createNamespace(ctx context.Context, cfg *rest.Config, name string) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// limitStatus is the status the plain writer writes, the size of fed-controller's.
func (b *bench) limitStatus(generation int64) []byte {
	clusters := make([]any, 0, len(b.members))
	for _, m := range b.members {
		clusters = append(clusters, map[string]any{"name": m, "status": "OK"})
	}
	now := time.Now().UTC().Format(time.RFC3339)
	body, _ := json.Marshal(map[string]any{"status": map[string]any{
		"observedGeneration": generation,
		"conditions": []any{map[string]any{
			"type": "Propagation", "status": "True", "lastTransitionTime": now, "lastUpdateTime": now,
		}},
		"clusters": clusters,
	}})
	return body
}

// limit measures the plain writer: with the N federated objects already there, it creates
// the N×M member objects and makes two host writes per federated object, a finalizer patch
// and a status patch, keeping a fixed number of requests in flight with no client-side rate
// limit. Then it removes what it made.
func (b *bench) limit(ctx context.Context) error {
	// Let the new lab's controllers finish their start-up work first.
	time.Sleep(5 * time.Second)
	for run := 1; run <= b.cfg.limitRuns; run++ {
		seconds, cpu, err := b.limitRun(ctx, fmt.Sprintf("%s-%d", limitNamespace, run))
		if err != nil {
			return err
		}
		b.result.LimitRuns = append(b.result.LimitRuns, seconds)
		if b.result.LimitSeconds == 0 || seconds < b.result.LimitSeconds {
			b.result.LimitSeconds, b.result.LimitCPU = seconds, cpu
		}
	}
	b.result.LimitRequests = b.cfg.n * (len(b.members) + 2)
	for run := 1; run <= b.cfg.limitRuns; run++ {
		seconds, err := b.memberLimitRun(ctx, fmt.Sprintf("%s-members-%d", limitNamespace, run))
		if err != nil {
			return err
		}
		b.result.MemberLimitRuns = append(b.result.MemberLimitRuns, seconds)
		if b.result.MemberLimitSeconds == 0 || seconds < b.result.MemberLimitSeconds {
			b.result.MemberLimitSeconds = seconds
		}
	}
	return nil
}

// limitRun is one run of the plain writer in namespace ns; it returns the wall time and the
// CPU each program used.
func (b *bench) limitRun(ctx context.Context, limitNamespace string) (float64, []string, error) {
	n, m := b.cfg.n, len(b.members)
	if err := b.createNamespace(ctx, b.lab.Host().RESTConfig(), limitNamespace); err != nil {
		return 0, nil, err
	}
	for _, name := range b.members {
		if err := b.createNamespace(ctx, b.memberCfg[name], limitNamespace); err != nil {
			return 0, nil, err
		}
	}
	fedRes := b.hostDyn.Resource(b.kind.FederatedResource).Namespace(limitNamespace)
	b.logf("limit: creating %d federated objects (not timed)", n)
	err := inParallel(ctx, b.cfg.inflight, n, func(ctx context.Context, i int) error {
		_, err := fedRes.Create(ctx, b.kind.federated(limitNamespace, i, 1, b.members), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("failed to create the federated objects: %w", err)
	}
	// The same watch of the members as in converge, so that both carry its cost.
	t, err := newTracker(ctx, b.kind, limitNamespace, b.memberCfg)
	if err != nil {
		return 0, nil, err
	}
	defer t.Close()
	finalizer := []byte(fmt.Sprintf(`{"metadata":{"finalizers":[%q]}}`, limitFinalizer))
	status := b.limitStatus(1)
	perObject := m + 2
	b.logf("limit: %d requests, %d in flight", n*perObject, b.cfg.inflight)
	cpuBefore, selfBefore := labCPU(b.dir), selfCPU()
	started := time.Now()
	err = inParallel(ctx, b.cfg.inflight, n*perObject, func(ctx context.Context, r int) error {
		i, w := r/perObject, r%perObject
		switch {
		case w < m:
			cluster := b.members[w]
			_, err := b.memberDyn[cluster].Resource(b.kind.Resource).Namespace(limitNamespace).
				Create(ctx, b.kind.member(limitNamespace, i, 1, cluster, controlPlaneID), metav1.CreateOptions{})
			return err
		case w == m:
			_, err := fedRes.Patch(ctx, objectName(i), types.MergePatchType, finalizer, metav1.PatchOptions{})
			return err
		default:
			_, err := fedRes.Patch(ctx, objectName(i), types.MergePatchType, status, metav1.PatchOptions{}, "status")
			return err
		}
	})
	if err != nil {
		return 0, nil, fmt.Errorf("the plain writer failed: %w", err)
	}
	seconds := round(time.Since(started).Seconds(), 2)
	cpu := cpuShares(cpuBefore, labCPU(b.dir), selfCPU()-selfBefore)
	b.logf("limit: %.1fs; CPU: %s", seconds, strings.Join(cpu, ", "))

	// Clean up, so that fed-controller starts on an empty lab.
	unfinalize := []byte(`{"metadata":{"finalizers":null}}`)
	err = inParallel(ctx, b.cfg.inflight, n, func(ctx context.Context, i int) error {
		_, err := fedRes.Patch(ctx, objectName(i), types.MergePatchType, unfinalize, metav1.PatchOptions{})
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	err = inParallel(ctx, b.cfg.inflight, n, func(ctx context.Context, i int) error {
		return fedRes.Delete(ctx, objectName(i), metav1.DeleteOptions{})
	})
	if err != nil {
		return 0, nil, err
	}
	for _, name := range b.members {
		if err := b.memberDyn[name].Resource(b.kind.Resource).Namespace(limitNamespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			return 0, nil, err
		}
	}
	return seconds, cpu, nil
}

// startController starts fed-controller with its defaults, waits until every member is
// Ready, and federates the bench's namespace.
func (b *bench) startController(ctx context.Context) error {
	dir := filepath.Join(b.dir, "fed-controller")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if b.cfg.workers > 0 {
		cfg := kubefedconfig.Default(corev1beta1.DefaultNamespace)
		cfg.Spec.SyncController.MaxConcurrentReconciles = ptr.To(int64(b.cfg.workers))
		if err := b.host.Create(ctx, cfg); err != nil {
			return fmt.Errorf("failed to set the sync workers in the KubeFedConfig: %w", err)
		}
	}
	args := append([]string{}, b.cfg.controller...)
	if b.cfg.profile {
		// pprof is off by default; the profiles come from a loopback port of its own.
		addr, err := freeLoopbackAddress()
		if err != nil {
			return err
		}
		args = append(args, "--pprof-bind-address="+addr)
	}
	var err error
	b.controller, err = framework.LaunchController(b.cfg.binary, b.lab.Host(), dir, controlPlaneID, args...)
	if err != nil {
		return err
	}
	b.logf("fed-controller started (pid %d, log %s); waiting for the members to be Ready", b.controller.Pid(), b.controller.LogPath())
	if err := poll(ctx, time.Second, func(ctx context.Context) (bool, error) {
		list := &corev1beta1.KubeFedClusterList{}
		if err := b.host.List(ctx, list, client.InNamespace(corev1beta1.DefaultNamespace)); err != nil {
			return false, err
		}
		ready := 0
		for _, c := range list.Items {
			if cluster.IsReady(c.Status) {
				ready++
			}
		}
		return ready == len(b.members), nil
	}); err != nil {
		return fmt.Errorf("the members did not become Ready: %w", err)
	}
	if err := b.createNamespace(ctx, b.lab.Host().RESTConfig(), benchNamespace); err != nil {
		return err
	}
	fns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedNamespace",
		"metadata": map[string]any{"name": benchNamespace, "namespace": benchNamespace},
		"spec":     map[string]any{"placement": map[string]any{"clusterSelector": map[string]any{}}},
	}}
	if _, err := b.hostDyn.Resource(typesv1beta1.FederatedNamespaceGVK.GroupVersion().WithResource("federatednamespaces")).Namespace(benchNamespace).
		Create(ctx, fns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("failed to federate namespace %s: %w", benchNamespace, err)
	}
	members := make([]*kubernetes.Clientset, 0, len(b.members))
	for _, name := range b.members {
		cs, err := kubernetes.NewForConfig(b.memberCfg[name])
		if err != nil {
			return err
		}
		members = append(members, cs)
	}
	return poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		for _, cs := range members {
			if _, err := cs.CoreV1().Namespaces().Get(ctx, benchNamespace, metav1.GetOptions{}); err != nil {
				return false, client.IgnoreNotFound(err)
			}
		}
		return true, nil
	})
}

// poll calls cond every interval until it holds, fails or ctx ends.
func poll(ctx context.Context, interval time.Duration, cond func(context.Context) (bool, error)) error {
	for {
		ok, err := cond(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// fetch saves a URL's body into path.
// freeLoopbackAddress returns a loopback address whose port was free a moment ago.
func freeLoopbackAddress() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("failed to find a free port: %w", err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}

func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func (b *bench) profilePath(what string) string {
	return filepath.Join(b.cfg.results, fmt.Sprintf("%s-%s-N%d-M%d-%s.pprof", b.result.Started.Format("20060102T150405Z"),
		strings.ToLower(b.cfg.kind), b.cfg.n, b.cfg.m, what))
}
