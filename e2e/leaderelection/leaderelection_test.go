package leaderelection_test

import (
	"context"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
)

var (
	lab              *framework.Lab
	controllerBinary string
)

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithLabAndController(m, framework.Options{Members: []string{"m1", "m2"}}, &lab, &controllerBinary))
}

// leaseName is the Lease that fed-controller's replicas elect their leader with.
const leaseName = "fed-controller.core.kubefed.io"

// TestCleanShutdownReleasesTheLease runs two fed-controllers with --leader-elect against the lab
// host, sends SIGTERM to the leader, and measures how long the standby takes to hold the Lease.
// A leader that stops cleanly releases the Lease, so the standby does not wait for it to expire
// (15 s).
func TestCleanShutdownReleasesTheLease(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	host := framework.InstallHost(t, lab.Host())
	hostCS, err := lab.Host().Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	ns := corev1beta1.DefaultNamespace

	// A member, so that the leader runs a probe loop and a member cache when it is stopped.
	m1 := lab.Cluster("m1")
	g.Expect(m1.Register(t.Context(), host, framework.Registration{CABundle: m1.CACert()})).To(Succeed())
	t.Cleanup(func() {
		ctx := context.Background()
		_ = host.Delete(ctx, &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "m1"}})
		_ = host.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "m1-token"}})
	})

	replicas := []*framework.Controller{
		framework.StartController(t, controllerBinary, lab.Host(), "lease-test", "--leader-elect"),
		framework.StartController(t, controllerBinary, lab.Host(), "lease-test", "--leader-elect"),
	}
	leading := func(c *framework.Controller) bool {
		v, err := c.ReadMetric("leader_election_master_status", map[string]string{"name": leaseName})
		return err == nil && v == 1
	}
	holder := func() string {
		lease, err := hostCS.CoordinationV1().Leases(ns).Get(t.Context(), leaseName, metav1.GetOptions{})
		if err != nil {
			return ""
		}
		return ptr.Deref(lease.Spec.HolderIdentity, "")
	}

	// One replica leads; a replica that an earlier run killed may hold the Lease until it expires.
	var leader, standby *framework.Controller
	g.Eventually(func() int {
		leader, standby = nil, nil
		for i, c := range replicas {
			if leading(c) {
				leader, standby = c, replicas[1-i]
			}
		}
		if leader == nil || leading(standby) || holder() == "" {
			return 0
		}
		return 1
	}).WithTimeout(45*time.Second).WithPolling(200*time.Millisecond).Should(Equal(1), "one replica leads")
	g.Eventually(func() bool {
		kfc := &corev1beta1.KubeFedCluster{}
		_ = host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "m1"}, kfc)
		return cluster.IsReady(kfc.Status)
	}).WithTimeout(30*time.Second).Should(BeTrue(), "the leader probes the member")
	g.Eventually(func() float64 {
		v, _ := leader.ReadMetric("controller_runtime_max_concurrent_reconciles", map[string]string{"controller": "sync-deployments.apps"})
		return v
	}).WithTimeout(30*time.Second).Should(BeNumerically(">", 0), "the leader runs the Deployments' sync controller")
	old := holder()
	// The standby stops cleanly too, so that the next test need not wait for its Lease.
	t.Cleanup(func() { _, _ = standby.Terminate(30 * time.Second) })

	stopped := time.Now()
	type exit struct {
		code int
		err  error
		took time.Duration
	}
	exited := make(chan exit, 1)
	go func() {
		code, err := leader.Terminate(40 * time.Second)
		exited <- exit{code, err, time.Since(stopped)}
	}()
	var released time.Duration
	var now string
	for time.Since(stopped) < 40*time.Second {
		now = holder()
		if now == "" && released == 0 {
			released = time.Since(stopped)
		}
		if now != "" && now != old {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	handover := time.Since(stopped)
	e := <-exited
	release := "never released"
	if released > 0 {
		release = "released after " + released.Round(time.Millisecond).String()
	}
	t.Logf("after SIGTERM: the leader exited in %v with code %d, the Lease was %s, the standby held it after %v",
		e.took.Round(time.Millisecond), e.code, release, handover.Round(time.Millisecond))

	g.Expect(e.err).NotTo(HaveOccurred())
	g.Expect(e.code).To(Equal(0), "the leader's exit code")
	g.Expect(now).NotTo(Equal(old), "the standby holds the Lease")
	g.Expect(released).To(BeNumerically(">", 0), "the leader released the Lease")
	g.Expect(released).To(BeNumerically("<", 2*time.Second), "time from SIGTERM to the Lease's release")
	// The standby tries to acquire once per retry period stretched by up to 1.2 (client-go's
	// jitter), so it takes over at most that long after the release; without the release it
	// waits for the Lease to expire, 15 s after the last renewal.
	g.Expect(handover).To(BeNumerically("<", released+retryMax(t, host)), "time from SIGTERM to the standby holding the Lease")
	g.Eventually(func() bool { return leading(standby) }).WithTimeout(5*time.Second).Should(BeTrue(), "the standby leads")
}
