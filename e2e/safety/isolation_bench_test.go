package safety_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

// EnvIsolationBench turns on TestIsolationBenchmark (make bench-isolation).
const EnvIsolationBench = "FEDPLANE_BENCH_ISOLATION"

// arrivals records when a member's watch first saw each version of each ConfigMap.
type arrivals struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (a *arrivals) at(key string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.seen[key]
	return t, ok
}

// watchArrivals watches the ConfigMaps of a namespace in a member until ctx ends.
func watchArrivals(ctx context.Context, t *testing.T, member *framework.Cluster, namespace string) *arrivals {
	t.Helper()
	cs, err := member.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().ConfigMaps(namespace).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := &arrivals{seen: map[string]time.Time{}}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok {
				continue
			}
			key := cm.Name + "/" + cm.Data["v"]
			a.mu.Lock()
			if _, ok := a.seen[key]; !ok {
				a.seen[key] = time.Now()
			}
			a.mu.Unlock()
		}
	}()
	return a
}

// percentile returns the p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// isolationRun applies 100 creates and then 100 updates of FederatedConfigMaps in namespace, the
// even ones placed on local only and the odd ones on local and bad, and reports how long each
// took to reach local.
func isolationRun(t *testing.T, host client.Client, namespace, bad string) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	seen := watchArrivals(ctx, t, lab.Cluster("local"), namespace)
	type op struct {
		key     string
		applied time.Time
		withBad bool
	}
	var ops []op
	apply := func(i int, v string) {
		clusters := []string{"local"}
		if i%2 == 1 {
			clusters = append(clusters, bad)
		}
		name := fmt.Sprintf("iso-%03d", i)
		framework.ApplyObject(t, host, framework.FederatedConfigMap(namespace, name, map[string]any{"v": v}, clusters...))
		ops = append(ops, op{key: name + "/" + v, applied: time.Now(), withBad: i%2 == 1})
	}
	for i := range 100 {
		apply(i, "created")
	}
	for i := range 100 {
		apply(i, "updated")
	}
	deadline := time.Now().Add(2 * time.Minute)
	var healthyOnly, withBad []time.Duration
	missing := 0
	for _, o := range ops {
		for {
			at, ok := seen.at(o.key)
			if ok {
				if o.withBad {
					withBad = append(withBad, at.Sub(o.applied))
				} else {
					healthyOnly = append(healthyOnly, at.Sub(o.applied))
				}
				break
			}
			if time.Now().After(deadline) {
				missing++
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d changes never reached local", missing, len(ops))
	}
	for _, s := range []struct {
		what string
		d    []time.Duration
	}{{"placed on local only", healthyOnly}, {"placed on local and " + bad, withBad}} {
		slices.Sort(s.d)
		t.Logf("isolation %s: %d changes %s reached local: p50=%v p99=%v max=%v", bad, len(s.d), s.what,
			percentile(s.d, 0.5).Round(time.Millisecond), percentile(s.d, 0.99).Round(time.Millisecond), percentile(s.d, 1).Round(time.Millisecond))
	}
}

// TestIsolationBenchmark measures how long 200 creates and updates take to reach a healthy
// member with both members healthy (the baseline), while the other member is SIGSTOPped, and separately while a registration points at a
// server that answers /readyz and hangs on everything else. The health check and the member
// timeout are KubeFed's and fed-controller's defaults (a stopped member stays Ready for about 30
// s), the worst case for isolation. It reports figures and asserts only that every change
// arrives; run it with make bench-isolation.
func TestIsolationBenchmark(t *testing.T) {
	if os.Getenv(EnvIsolationBench) == "" {
		t.Skipf("set %s=1 (make bench-isolation) to run the isolation benchmark", EnvIsolationBench)
	}
	framework.Require(t, lab)
	host := framework.InstallHost(t, lab.Host())
	cfg := &corev1beta1.KubeFedConfig{}
	if err := host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: corev1beta1.DefaultConfigName}, cfg); err != nil {
		t.Fatal(err)
	}
	fast := cfg.Spec.ClusterHealthCheck
	cfg.Spec.ClusterHealthCheck = kubefedconfig.Default(ns).Spec.ClusterHealthCheck
	if err := host.Update(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The other tests of the suite probe every second.
		if err := host.Get(context.Background(), client.ObjectKeyFromObject(cfg), cfg); err == nil {
			cfg.Spec.ClusterHealthCheck = fast
			_ = host.Update(context.Background(), cfg)
		}
	})
	ensureRegistered(t, host, "local", "cce")
	c, err := framework.LaunchController(controllerBinary, lab.Host(), t.TempDir(), controlPlaneID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	framework.FederateNamespace(t, host, "iso-stop", "local", "cce")
	time.Sleep(15 * time.Second) // Both members Ready and their caches listed.

	t.Run("baseline: both members healthy", func(t *testing.T) {
		framework.FederateNamespace(t, host, "iso-base", "local", "cce")
		time.Sleep(2 * time.Second)
		isolationRun(t, host, "iso-base", "cce")
	})
	t.Run("one member SIGSTOPped", func(t *testing.T) {
		cce := lab.Cluster("cce")
		if err := cce.StopAPIServer(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cce.ContinueAPIServer() }()
		isolationRun(t, host, "iso-stop", "cce")
	})
	t.Run("one registration that hangs after /readyz", func(t *testing.T) {
		url, ca := hungServer(t)
		if err := framework.RegisterEndpoint(t.Context(), host, "wedged", url, ca, "wedged-token"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = framework.Unregister(context.Background(), host, "wedged") })
		framework.FederateNamespace(t, host, "iso-wedged", "local", "cce", "wedged")
		time.Sleep(2 * time.Second)
		isolationRun(t, host, "iso-wedged", "wedged")
	})
}
