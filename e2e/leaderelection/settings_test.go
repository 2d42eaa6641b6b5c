package leaderelection_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

// TestLeaderElectionFollowsTheKubeFedConfig starts fed-controller with --leader-elect after
// setting spec.leaderElect.leaseDuration to 23 s and resourceLock to endpoints: the Lease it
// holds lasts 23 s, and a Warning event SettingsSubstituted on the KubeFedConfig says that a
// Lease is held instead of endpoints.
func TestLeaderElectionFollowsTheKubeFedConfig(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	host := framework.InstallHost(t, lab.Host())
	hostCS, err := lab.Host().Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	ns := corev1beta1.DefaultNamespace
	updateLeaderElect(t.Context(), t, host, func(le *corev1beta1.LeaderElectConfig) {
		le.LeaseDuration = &metav1.Duration{Duration: 23 * time.Second}
		le.ResourceLock = ptr.To(corev1beta1.ResourceLockType("endpoints"))
	})
	// The test's context is done by the time the cleanup runs.
	t.Cleanup(func() {
		updateLeaderElect(context.Background(), t, host, func(le *corev1beta1.LeaderElectConfig) {
			le.LeaseDuration = &metav1.Duration{Duration: kubefedconfig.DefaultLeaseDuration}
			le.ResourceLock = ptr.To(corev1beta1.ResourceLockType("configmaps"))
		})
	})
	started := time.Now()
	c := framework.StartController(t, controllerBinary, lab.Host(), "lease-settings", "--leader-elect")
	// It stops cleanly, so that the next test need not wait for its Lease.
	t.Cleanup(func() { _, _ = c.Terminate(30 * time.Second) })

	// A replica of an earlier test may hold the Lease until it expires.
	g.Eventually(func() int32 {
		v, err := c.ReadMetric("leader_election_master_status", map[string]string{"name": leaseName})
		if err != nil || v != 1 {
			return 0
		}
		lease, err := hostCS.CoordinationV1().Leases(ns).Get(t.Context(), leaseName, metav1.GetOptions{})
		if err != nil {
			return 0
		}
		return ptr.Deref(lease.Spec.LeaseDurationSeconds, 0)
	}).WithTimeout(60*time.Second).WithPolling(200*time.Millisecond).Should(Equal(int32(23)), "the Lease's spec.leaseDurationSeconds")
	t.Logf("the controller led with a 23 s Lease %v after its start", time.Since(started).Round(time.Millisecond))
	g.Eventually(func(g Gomega) {
		list := &eventsv1.EventList{}
		g.Expect(host.List(t.Context(), list, client.InNamespace(ns))).To(Succeed())
		var notes []string
		for _, e := range list.Items {
			if e.Regarding.Kind == "KubeFedConfig" && e.Reason == "SettingsSubstituted" && e.Type == corev1.EventTypeWarning {
				notes = append(notes, e.Note)
			}
		}
		g.Expect(notes).To(ContainElement(ContainSubstring("spec.leaderElect.resourceLock: endpoints")))
	}).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(), "the SettingsSubstituted event")
}

// updateLeaderElect changes the lab's KubeFedConfig's spec.leaderElect with change.
func updateLeaderElect(ctx context.Context, t *testing.T, host client.Client, change func(*corev1beta1.LeaderElectConfig)) {
	t.Helper()
	kfc := &corev1beta1.KubeFedConfig{}
	key := client.ObjectKey{Namespace: corev1beta1.DefaultNamespace, Name: corev1beta1.DefaultConfigName}
	if err := host.Get(ctx, key, kfc); err != nil {
		t.Fatalf("failed to read the KubeFedConfig: %v", err)
	}
	if kfc.Spec.LeaderElect == nil {
		kfc.Spec.LeaderElect = &corev1beta1.LeaderElectConfig{}
	}
	change(kfc.Spec.LeaderElect)
	if err := host.Update(ctx, kfc); err != nil {
		t.Fatalf("failed to update the KubeFedConfig: %v", err)
	}
}

// retryMax is the longest wait between two attempts of a standby to acquire the Lease: the
// retry period of the lab's KubeFedConfig, which fed-controller runs with, stretched by
// client-go's jitter factor of 1.2.
func retryMax(t *testing.T, host client.Client) time.Duration {
	t.Helper()
	s, err := kubefedconfig.Read(t.Context(), host, corev1beta1.DefaultNamespace)
	if err != nil {
		t.Fatal(err)
	}
	rp := s.LeaderElection.RetryPeriod
	return rp + rp*12/10
}
