package cluster_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

const ns = corev1beta1.DefaultNamespace

// register registers member under name, trusting ca and with the given TLS checks disabled.
func register(t *testing.T, c client.Client, name string, member *framework.Cluster, ca []byte, disabled ...corev1beta1.TLSValidation) {
	t.Helper()
	if err := member.Register(t.Context(), c, framework.Registration{Name: name, CABundle: ca, DisabledTLSValidations: disabled}); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, c client.Client, name string) *corev1beta1.KubeFedCluster {
	t.Helper()
	kfc := &corev1beta1.KubeFedCluster{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, kfc); err != nil {
		t.Fatal(err)
	}
	return kfc
}

func ready(t *testing.T, c client.Client, name string) func() bool {
	return func() bool { return cluster.IsReady(get(t, c, name).Status) }
}

// TestHealthController runs the KubeFedCluster health controller against the lab host, with
// the members m1 and m2 probed every second (failureThreshold 3, successThreshold 1, timeout 1s).
func TestHealthController(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	cfg := lab.Host().RESTConfig()
	c, err := lab.Host().InstallAPI(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	scheme := c.Scheme()

	hcCfg := kubefedconfig.Default(ns)
	hcCfg.Spec.ClusterHealthCheck.Period = &metav1.Duration{Duration: time.Second}
	hcCfg.Spec.ClusterHealthCheck.Timeout = &metav1.Duration{Duration: time.Second}
	g.Expect(c.Create(t.Context(), hcCfg)).To(Succeed())
	period, threshold, timeout := time.Second, 3, time.Second

	m1, m2 := lab.Cluster("m1"), lab.Cluster("m2")
	register(t, c, "m1", m1, m1.CACert())
	register(t, c, "m2", m2, m2.CACert())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
	})
	g.Expect(err).NotTo(HaveOccurred())
	metrics, err := cluster.NewMetrics(prometheus.NewRegistry())
	g.Expect(err).NotTo(HaveOccurred())
	members := &cluster.Cache{Scheme: scheme, Namespace: ns}
	// The kind the test reads from the members' caches, as a FederatedTypeConfig would name it.
	members.AddKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"), "configmaps", true)
	events := members.Subscribe()
	g.Expect((&cluster.HealthReconciler{Client: mgr.GetClient(), Namespace: ns, Metrics: metrics, Cache: members}).SetupWithManager(mgr)).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })
	started := time.Now()

	t.Run("members are Ready within two periods, with version and topology", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(ready(t, c, "m1")).WithTimeout(2*period + 5*time.Second).WithPolling(50 * time.Millisecond).Should(BeTrue())
		g.Eventually(ready(t, c, "m2")).WithTimeout(2*period + 5*time.Second).WithPolling(50 * time.Millisecond).Should(BeTrue())
		t.Logf("both Ready %v after the controller started (cache sync included)", time.Since(started).Round(time.Millisecond))
		g.Eventually(func() corev1beta1.KubeFedClusterStatus { return get(t, c, "m1").Status }).WithTimeout(5 * time.Second).Should(And(
			HaveField("KubernetesVersion", "v1.37.2"),
			HaveField("Region", Equal(ptr.To("lab-m1"))),
			HaveField("Zones", Equal([]string{"lab-m1-a"})),
		))
	})

	t.Run("Ready members are connected, and their caches hold managed objects only", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(members.Connected).WithTimeout(10 * time.Second).Should(Equal([]string{"m1", "m2"}))
		seen := map[string]bool{}
		g.Eventually(func() map[string]bool {
			for {
				select {
				case ev := <-events:
					seen[ev.Object.GetName()] = true
				default:
					return seen
				}
			}
		}).WithTimeout(5 * time.Second).Should(Equal(map[string]bool{"m1": true, "m2": true}))

		cs, err := m1.Clientset()
		g.Expect(err).NotTo(HaveOccurred())
		for name, labels := range map[string]map[string]string{"managed": {contract.ManagedLabel: "true"}, "unmanaged": nil} {
			_, err := cs.CoreV1().ConfigMaps("default").Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
			g.Expect(err).NotTo(HaveOccurred())
		}
		mc, ok := members.Client("m1")
		g.Expect(ok).To(BeTrue())
		g.Eventually(func() []string {
			var list corev1.ConfigMapList
			if err := mc.List(t.Context(), &list, client.InNamespace("default")); err != nil {
				return []string{err.Error()}
			}
			var names []string
			for _, cm := range list.Items {
				names = append(names, cm.Name)
			}
			return names
		}).WithTimeout(10 * time.Second).Should(Equal([]string{"managed"}))
	})

	t.Run("steady health writes no status", func(t *testing.T) {
		before := map[string]string{"m1": get(t, c, "m1").ResourceVersion, "m2": get(t, c, "m2").ResourceVersion}
		probes := testutil.ToFloat64(metrics.Probes.WithLabelValues("m1", "healthy"))
		time.Sleep(60 * period)
		for name, rv := range before {
			if got := get(t, c, name).ResourceVersion; got != rv {
				t.Errorf("%s was written during steady health: resourceVersion %s -> %s", name, rv, got)
			}
		}
		if n := testutil.ToFloat64(metrics.Probes.WithLabelValues("m1", "healthy")) - probes; n < 58 {
			t.Errorf("m1 was probed %v times in 60 periods, want at least 58", n)
		}
	})

	t.Run("a short hang does not flip a Ready member", func(t *testing.T) {
		rv := get(t, c, "m2").ResourceVersion
		if err := m2.StopAPIServer(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		if err := m2.ContinueAPIServer(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * period)
		if got := get(t, c, "m2"); got.ResourceVersion != rv || !cluster.IsReady(got.Status) {
			t.Errorf("m2 changed after a 1.5s hang: ready %v, resourceVersion %s -> %s", cluster.IsReady(got.Status), rv, got.ResourceVersion)
		}
	})

	t.Run("a hung member turns not Ready in time while the others keep being probed", func(t *testing.T) {
		g := NewWithT(t)
		m1Probes := testutil.ToFloat64(metrics.Probes.WithLabelValues("m1", "healthy"))
		if err := m2.StopAPIServer(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m2.ContinueAPIServer() })
		hung := time.Now()
		bound := time.Duration(threshold)*period + timeout
		g.Eventually(ready(t, c, "m2")).WithTimeout(bound + 3*time.Second).WithPolling(50 * time.Millisecond).Should(BeFalse())
		detected := time.Since(hung)
		t.Logf("m2 not Ready %v after SIGSTOP (period x failureThreshold + timeout = %v)", detected.Round(time.Millisecond), bound)
		conds := get(t, c, "m2").Status.Conditions
		g.Expect(conds).To(ContainElement(And(HaveField("Type", corev1beta1.ClusterOffline), HaveField("Status", corev1.ConditionTrue))))
		if n := testutil.ToFloat64(metrics.Probes.WithLabelValues("m1", "healthy")) - m1Probes; n < detected.Seconds()/period.Seconds()-1 {
			t.Errorf("m1 was probed %v times in %v while m2 hung, want one per period", n, detected)
		}
		g.Expect(m2.ContinueAPIServer()).To(Succeed())
		back := time.Now()
		g.Eventually(ready(t, c, "m2")).WithTimeout(2*period + 3*time.Second).WithPolling(50 * time.Millisecond).Should(BeTrue())
		t.Logf("m2 Ready again %v after SIGCONT", time.Since(back).Round(time.Millisecond))
	})

	t.Run("a registration with the wrong CA stays not Ready and says why", func(t *testing.T) {
		register(t, c, "m1-wrong-ca", m1, m2.CACert())
		NewWithT(t).Eventually(func() []corev1beta1.ClusterCondition { return get(t, c, "m1-wrong-ca").Status.Conditions }).
			WithTimeout(10 * time.Second).Should(ContainElement(And(
			HaveField("Type", corev1beta1.ClusterOffline),
			HaveField("Message", Equal(ptr.To("cluster is not reachable: x509: certificate signed by unknown authority"))),
		)))
	})

	t.Run("a registration that skips TLS verification, without a CA, becomes Ready", func(t *testing.T) {
		g := NewWithT(t)
		// m1's own registration goes first: a second registration of one cluster is never used.
		g.Expect(c.Delete(t.Context(), &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "m1"}})).To(Succeed())
		g.Eventually(members.Connected).WithTimeout(10 * time.Second).ShouldNot(ContainElement("m1"))
		register(t, c, "m1-insecure", m1, nil, corev1beta1.TLSAll)
		g.Eventually(ready(t, c, "m1-insecure")).WithTimeout(10 * time.Second).Should(BeTrue())
	})

	t.Run("a registration without its Secret is ConfigMalformed", func(t *testing.T) {
		kfc := &corev1beta1.KubeFedCluster{
			ObjectMeta: metav1.ObjectMeta{Name: "no-secret", Namespace: ns},
			Spec:       corev1beta1.KubeFedClusterSpec{APIEndpoint: m1.Server(), SecretRef: corev1beta1.LocalSecretReference{Name: "missing"}},
		}
		if err := c.Create(t.Context(), kfc); err != nil {
			t.Fatal(err)
		}
		NewWithT(t).Eventually(func() []corev1beta1.ClusterCondition { return get(t, c, "no-secret").Status.Conditions }).
			WithTimeout(10 * time.Second).Should(ContainElement(And(
			HaveField("Type", corev1beta1.ClusterConfigMalformed),
			HaveField("Status", corev1.ConditionTrue),
		)))
	})

	t.Run("a deleted registration disconnects its member", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(members.Connected).WithTimeout(10 * time.Second).Should(ContainElement("m1-insecure"))
		g.Expect(c.Delete(t.Context(), &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "m1-insecure"}})).To(Succeed())
		g.Eventually(members.Connected).WithTimeout(10 * time.Second).ShouldNot(ContainElement("m1-insecure"))
		_, ok := members.Client("m1-insecure")
		g.Expect(ok).To(BeFalse())
	})
}
