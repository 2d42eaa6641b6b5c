package rsp_test

import (
	"context"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

// TestIgnoredSettingsAreReported starts fed-controller with a KubeFedConfig setting that it does
// not read (the status workers) and some it reads (retryPeriod, availableDelay): it names the
// first in its log and in a Warning event on the KubeFedConfig, and not the others.
func TestIgnoredSettingsAreReported(t *testing.T) {
	framework.Require(t, lab)
	restore := func(spec *corev1beta1.KubeFedConfigSpec) {
		spec.LeaderElect.RetryPeriod = &metav1.Duration{Duration: 5 * time.Second}
		spec.ControllerDuration.AvailableDelay = &metav1.Duration{Duration: framework.ReadinessDelay}
		spec.StatusController.MaxConcurrentReconciles = nil
	}
	framework.UpdateKubeFedConfig(t.Context(), t, framework.InstallHost(t, lab.Host()), func(spec *corev1beta1.KubeFedConfigSpec) {
		spec.LeaderElect.RetryPeriod = &metav1.Duration{Duration: 7 * time.Second}
		spec.ControllerDuration.AvailableDelay = &metav1.Duration{Duration: 30 * time.Second}
		n := int64(3)
		spec.StatusController.MaxConcurrentReconciles = &n
	})
	fed := framework.StartFederation(t, lab, controllerBinary, "fedplane-rsp", "local", "cce")
	host := fed.Host
	// The test's context is done by the time the cleanup runs.
	t.Cleanup(func() { framework.UpdateKubeFedConfig(context.Background(), t, host, restore) })
	g := NewWithT(t)

	g.Eventually(func(g Gomega) {
		list := &eventsv1.EventList{}
		g.Expect(host.List(t.Context(), list, client.InNamespace(kfcNS))).To(Succeed())
		var notes []string
		for _, e := range list.Items {
			if e.Regarding.Kind == "KubeFedConfig" && e.Reason == "SettingsIgnored" && e.Type == corev1.EventTypeWarning {
				notes = append(notes, e.Note)
			}
		}
		g.Expect(notes).To(ContainElement(ContainSubstring("spec.statusController.maxConcurrentReconciles")))
		g.Expect(notes).NotTo(ContainElement(ContainSubstring("spec.leaderElect.retryPeriod")), "a setting that is read")
		g.Expect(notes).NotTo(ContainElement(ContainSubstring("spec.controllerDuration.availableDelay")), "a setting that is read")
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	log, err := os.ReadFile(fed.Controller.LogPath())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(log)).To(And(ContainSubstring("KubeFedConfig settings are not read"), ContainSubstring("spec.statusController.maxConcurrentReconciles")))
}
