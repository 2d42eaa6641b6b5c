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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

// TestKubeFedConfigWorkersAndUnknownGates starts fed-controller with 5 sync workers, 3 status
// workers, a retry period of 7 s and a feature gate that does not exist. The Deployments' sync
// and status controllers run with those workers (ConfigMaps, which collect no status, have no
// status controller); the status changes of a member Deployment as its pods become ready are
// reconciled by the status workers and reach the federated object's status; and only the
// unknown gate is named in the log and in a Warning event SettingsIgnored.
func TestKubeFedConfigWorkersAndUnknownGates(t *testing.T) {
	framework.Require(t, lab)
	const ns, name = "rsp-workers", "workers"
	const unknownGate = "CrossClusterServiceDiscovery"
	host := framework.InstallHost(t, lab.Host())
	framework.UpdateKubeFedConfig(t.Context(), t, host, func(spec *corev1beta1.KubeFedConfigSpec) {
		spec.LeaderElect.RetryPeriod = &metav1.Duration{Duration: 7 * time.Second}
		spec.SyncController.MaxConcurrentReconciles = ptr.To[int64](5)
		spec.StatusController.MaxConcurrentReconciles = ptr.To[int64](3)
		spec.FeatureGates = append(spec.FeatureGates, corev1beta1.FeatureGatesConfig{Name: unknownGate, Configuration: corev1beta1.ConfigurationEnabled})
	})
	// The test's context is done by the time the cleanups run.
	t.Cleanup(func() {
		framework.UpdateKubeFedConfig(context.Background(), t, host, func(spec *corev1beta1.KubeFedConfigSpec) {
			spec.LeaderElect.RetryPeriod = &metav1.Duration{Duration: 5 * time.Second}
			spec.SyncController.MaxConcurrentReconciles = nil
			spec.StatusController.MaxConcurrentReconciles = nil
			gates := spec.FeatureGates[:0]
			for _, g := range spec.FeatureGates {
				if g.Name != unknownGate {
					gates = append(gates, g)
				}
			}
			spec.FeatureGates = gates
		})
	})
	fed := framework.StartFederation(t, lab, controllerBinary, "fedplane-rsp", "local", "cce")
	ctrl := fed.Controller
	// The objects go with fed-controller still running, so that the package's other tests do
	// not count them.
	t.Cleanup(func() {
		ctx := context.Background()
		if err := client.IgnoreNotFound(host.Delete(ctx, placedDeployment(ns, name, nil))); err != nil {
			t.Error(err)
		}
		NewWithT(t).Eventually(func() (*unstructured.Unstructured, error) {
			return framework.GetObject(ctx, host, fedDeploymetGVK, ns, name)
		}).WithTimeout(wait).WithPolling(poll).Should(BeNil(), "the FederatedDeployment is deleted")
	})
	g := NewWithT(t)

	// The registrations may be Ready from an earlier test before fed-controller serves its
	// metrics: a refused scrape is tried again.
	workers := func(controller string) func() (float64, error) {
		return func() (float64, error) {
			return ctrl.ReadMetric("controller_runtime_max_concurrent_reconciles", map[string]string{"controller": controller})
		}
	}
	g.Eventually(workers("sync-deployments.apps")).WithTimeout(wait).WithPolling(poll).Should(BeNumerically("==", 5))
	g.Eventually(workers("status-deployments.apps")).WithTimeout(wait).WithPolling(poll).Should(BeNumerically("==", 3))
	g.Eventually(workers("sync-configmaps")).WithTimeout(wait).WithPolling(poll).Should(BeNumerically("==", 5))
	g.Expect(workers("status-configmaps")()).To(BeZero(), "ConfigMaps collect no status")

	statusReconciles := func() float64 {
		return ctrl.Metric(t, "controller_runtime_reconcile_total", map[string]string{"controller": "status-deployments.apps"})
	}
	before := statusReconciles()
	framework.FederateNamespace(t, host, ns, "local")
	d := placedDeployment(ns, name, map[string]any{"clusters": []any{map[string]any{"name": "local"}}})
	g.Expect(unstructured.SetNestedField(d.Object, int64(3), "spec", "template", "spec", "replicas")).To(Succeed())
	framework.ApplyObject(t, host, d)
	g.Eventually(func(g Gomega) {
		st, err := framework.FederatedStatus(t.Context(), host, fedDeploymetGVK, ns, name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.ReadyReplicas).To(HaveValue(BeEquivalentTo(3)), "READY")
		g.Expect(st.Clusters).To(HaveLen(1))
		g.Expect(st.Clusters[0].RemoteStatus).NotTo(BeNil())
		var rs map[string]any
		g.Expect(st.Clusters[0].RemoteStatus.Decode(&rs)).To(Succeed())
		g.Expect(rs).To(HaveKeyWithValue("readyReplicas", BeNumerically("==", 3)))
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	reconciled := statusReconciles() - before
	t.Logf("the status workers reconciled the FederatedDeployment %v times as its pods became ready", reconciled)
	g.Expect(reconciled).To(BeNumerically(">=", 1), "the member's status changes went to the status workers")

	g.Eventually(func(g Gomega) {
		list := &eventsv1.EventList{}
		g.Expect(host.List(t.Context(), list, client.InNamespace(kfcNS))).To(Succeed())
		var notes []string
		for _, e := range list.Items {
			if e.Regarding.Kind == "KubeFedConfig" && e.Reason == "SettingsIgnored" && e.Type == corev1.EventTypeWarning {
				notes = append(notes, e.Note)
			}
		}
		g.Expect(notes).To(ContainElement(ContainSubstring("spec.featureGates " + unknownGate + ": Enabled (no such feature gate)")))
		for _, read := range []string{"spec.leaderElect.retryPeriod", "maxConcurrentReconciles"} {
			g.Expect(notes).NotTo(ContainElement(ContainSubstring(read)), "a setting that is read")
		}
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	log, err := os.ReadFile(ctrl.LogPath())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(log)).To(And(ContainSubstring("KubeFedConfig settings are not read"), ContainSubstring(unknownGate)))
}
