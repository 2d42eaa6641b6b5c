package rsp_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/rsp"
)

// TestSchedulerPreferencesGate starts fed-controller with the KubeFedConfig's
// SchedulerPreferences feature gate Disabled: a preference is not planned and says so, and it
// is planned once the gate is Enabled again.
func TestSchedulerPreferencesGate(t *testing.T) {
	framework.Require(t, lab)
	// The gate is off before fed-controller starts, so that it never sees it on.
	setSchedulerPreferences(t.Context(), t, framework.InstallHost(t, lab.Host()), corev1beta1.ConfigurationDisabled)
	fed := framework.StartFederation(t, lab, controllerBinary, "fedplane-rsp", "local", "cce")
	host := fed.Host
	const ns, name = "rsp-gate", "gated"
	// The test's context is done by the time the cleanup runs. The preference and its target
	// go, with fed-controller still running, so that the package's other tests do not count them.
	t.Cleanup(func() {
		ctx := context.Background()
		setSchedulerPreferences(ctx, t, host, corev1beta1.ConfigurationEnabled)
		for _, obj := range []*unstructured.Unstructured{preference(ns, name, 0, false, nil), placedDeployment(ns, name, nil)} {
			if err := client.IgnoreNotFound(host.Delete(ctx, obj)); err != nil {
				t.Error(err)
			}
		}
		NewWithT(t).Eventually(func() (*unstructured.Unstructured, error) {
			return framework.GetObject(ctx, host, fedDeploymetGVK, ns, name)
		}).WithTimeout(wait).WithPolling(poll).Should(BeNil(), "the target is deleted")
	})
	g := NewWithT(t)

	framework.FederateNamespace(t, host, ns, "local", "cce")
	framework.ApplyObject(t, host, placedDeployment(ns, name, map[string]any{"clusterSelector": map[string]any{}}))
	framework.ApplyObject(t, host, preference(ns, name, 4, false, nil))
	g.Eventually(func(g Gomega) {
		p := getRSPIn(t, host, ns, name)
		g.Expect(plannedCondition(p)).To(Equal("False/SchedulerPreferencesDisabled"))
		g.Expect(meta(p).Message).To(ContainSubstring("SchedulerPreferences"))
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	g.Consistently(func() (targetPlan, error) { return readTargetPlan(t.Context(), host, ns, name) }).
		WithTimeout(2*time.Second).WithPolling(poll).Should(Equal(targetPlan{Replicas: split{}}), "the target is left as it is")

	setSchedulerPreferences(t.Context(), t, host, corev1beta1.ConfigurationEnabled)
	g.Eventually(func() (targetPlan, error) { return readTargetPlan(t.Context(), host, ns, name) }).
		WithTimeout(wait).WithPolling(poll).Should(Equal(targetPlan{Placed: []string{"cce", "local"}, Replicas: split{"cce": 2, "local": 2}}))
	g.Eventually(func() string { return plannedCondition(getRSPIn(t, host, ns, name)) }).
		WithTimeout(wait).WithPolling(poll).Should(Equal("True/" + rsp.ReasonApplied))
}

// setSchedulerPreferences sets the SchedulerPreferences feature gate of the KubeFedConfig,
// keeping the other gates.
func setSchedulerPreferences(ctx context.Context, t *testing.T, host client.Client, mode corev1beta1.ConfigurationMode) {
	t.Helper()
	framework.SetFeatureGate(ctx, t, host, "SchedulerPreferences", mode)
}
