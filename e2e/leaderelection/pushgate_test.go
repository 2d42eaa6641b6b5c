package leaderelection_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

// TestPushReconcilerGate starts fed-controller with the KubeFedConfig's PushReconciler feature
// gate Disabled: nothing is propagated, and the FederatedTypeConfigs say why. Once the gate is
// Enabled again, the waiting object reaches the member.
func TestPushReconcilerGate(t *testing.T) {
	framework.Require(t, lab)
	host := framework.InstallHost(t, lab.Host())
	// The gate is off before fed-controller starts, so that it never propagates.
	setPushReconciler(t.Context(), t, host, corev1beta1.ConfigurationDisabled)
	// The test's context is done by the time the cleanup runs.
	t.Cleanup(func() { setPushReconciler(context.Background(), t, host, corev1beta1.ConfigurationEnabled) })
	// m1 goes unregistered once fed-controller has stopped: another test of the package
	// registers it under another name, and two registrations of one cluster are refused.
	t.Cleanup(func() {
		if err := framework.Unregister(context.Background(), host, "m1"); err != nil {
			t.Error(err)
		}
	})
	fed := framework.StartFederation(t, lab, controllerBinary, "push-gate", "m1")
	g := NewWithT(t)
	const ns, name = "push-gate", "gated"
	framework.FederateNamespace(t, host, ns, "m1")
	cm := framework.FederatedConfigMap(ns, name, map[string]any{"k": "v"}, "m1")
	framework.ApplyObject(t, host, cm)
	// Cleanups run last first: the object and its copy go while fed-controller still runs.
	t.Cleanup(func() {
		ctx := context.Background()
		setPushReconciler(ctx, t, host, corev1beta1.ConfigurationEnabled)
		if err := client.IgnoreNotFound(host.Delete(ctx, cm)); err != nil {
			t.Error(err)
		}
		NewWithT(t).Eventually(func() (*unstructured.Unstructured, error) {
			return framework.GetObject(ctx, host, cm.GroupVersionKind(), ns, name)
		}).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(BeNil(), "the federated object is gone")
	})

	g.Eventually(func(g Gomega) {
		ftc := &corev1beta1.FederatedTypeConfig{}
		g.Expect(host.Get(t.Context(), client.ObjectKey{Namespace: corev1beta1.DefaultNamespace, Name: "configmaps"}, ftc)).To(Succeed())
		c := meta.FindStatusCondition(ftc.Status.Conditions, corev1beta1.PropagationControllerRunning)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(corev1beta1.ReasonPushReconcilerDisabled))
		g.Expect(c.Message).To(ContainSubstring("PushReconciler"))
		g.Expect(ftc.Status.PropagationController).To(Equal(corev1beta1.ControllerStatusNotRunning))
	}).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(), "the FederatedTypeConfig configmaps says the gate is off")
	member := fed.Members["m1"]
	g.Consistently(func() (bool, error) {
		obj, err := framework.GetObject(t.Context(), member, configMapGVK, ns, name)
		return obj != nil, err
	}).WithTimeout(3*time.Second).WithPolling(200*time.Millisecond).Should(BeFalse(), "no copy while the gate is off")

	enabled := time.Now()
	setPushReconciler(t.Context(), t, host, corev1beta1.ConfigurationEnabled)
	g.Eventually(func() (bool, error) {
		obj, err := framework.GetObject(t.Context(), member, configMapGVK, ns, name)
		return obj != nil, err
	}).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(BeTrue(), "the copy once the gate is on")
	t.Logf("the copy reached m1 %v after the gate was Enabled", time.Since(enabled).Round(time.Millisecond))
}

// configMapGVK is the kind of the members' copies of FederatedConfigMaps.
var configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

// setPushReconciler sets the PushReconciler feature gate of the lab's KubeFedConfig, keeping
// the other gates.
func setPushReconciler(ctx context.Context, t *testing.T, host client.Client, mode corev1beta1.ConfigurationMode) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		kfc := &corev1beta1.KubeFedConfig{}
		if err := host.Get(ctx, client.ObjectKey{Namespace: corev1beta1.DefaultNamespace, Name: corev1beta1.DefaultConfigName}, kfc); err != nil {
			return err
		}
		gates := []corev1beta1.FeatureGatesConfig{{Name: "PushReconciler", Configuration: mode}}
		for _, g := range kfc.Spec.FeatureGates {
			if g.Name != "PushReconciler" {
				gates = append(gates, g)
			}
		}
		kfc.Spec.FeatureGates = gates
		return host.Update(ctx, kfc)
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
}
