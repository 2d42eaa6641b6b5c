package rsp_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

// TestReadinessDelays sets the KubeFedConfig's spec.controllerDuration to an unavailableDelay of
// 12 s and an availableDelay of 8 s, and reaches cce through a proxy whose health endpoints can
// be made to fail while every other request is answered. When cce stops being Ready, a
// preference split over local and cce keeps its split for the unavailableDelay, then moves
// cce's replicas to local; when cce is Ready again, the split comes back only after the
// availableDelay.
func TestReadinessDelays(t *testing.T) {
	framework.Require(t, lab)
	const ns, name = "rsp-delays", "delayed"
	const available, unavailable = 8 * time.Second, 12 * time.Second
	// Some margin under each delay for the time it takes to see a readiness change.
	const margin = 3 * time.Second
	g := NewWithT(t)
	host := framework.InstallHost(t, lab.Host())
	cce := lab.Cluster("cce")
	proxy := framework.StartHealthProxy(t, cce)
	// cce is reached through the proxy in this test only: the package's next tests register it
	// again as it is.
	g.Expect(framework.Unregister(t.Context(), host, "cce")).To(Succeed())
	g.Expect(framework.RegisterEndpoint(t.Context(), host, "cce", proxy.Endpoint, proxy.CA, cce.Token())).To(Succeed())
	t.Cleanup(func() { _ = framework.Unregister(context.Background(), host, "cce") })
	framework.UpdateKubeFedConfig(t.Context(), t, host, func(spec *corev1beta1.KubeFedConfigSpec) {
		spec.ControllerDuration.AvailableDelay = &metav1.Duration{Duration: available}
		spec.ControllerDuration.UnavailableDelay = &metav1.Duration{Duration: unavailable}
	})
	t.Cleanup(func() {
		framework.UpdateKubeFedConfig(context.Background(), t, host, func(spec *corev1beta1.KubeFedConfigSpec) {
			spec.ControllerDuration.AvailableDelay = &metav1.Duration{Duration: framework.ReadinessDelay}
			spec.ControllerDuration.UnavailableDelay = &metav1.Duration{Duration: framework.ReadinessDelay}
		})
	})
	fed := framework.StartFederation(t, lab, controllerBinary, "fedplane-rsp", "local", "cce")
	// The objects go with fed-controller still running, so that the package's other tests do
	// not count them.
	t.Cleanup(func() {
		ctx := context.Background()
		for _, obj := range []*unstructured.Unstructured{preference(ns, name, 0, false, nil), placedDeployment(ns, name, nil)} {
			if err := client.IgnoreNotFound(fed.Host.Delete(ctx, obj)); err != nil {
				t.Error(err)
			}
		}
		NewWithT(t).Eventually(func() (*unstructured.Unstructured, error) {
			return framework.GetObject(ctx, fed.Host, fedDeploymetGVK, ns, name)
		}).WithTimeout(wait).WithPolling(poll).Should(BeNil(), "the target is deleted")
	})

	framework.FederateNamespace(t, host, ns, "local", "cce")
	framework.ApplyObject(t, host, placedDeployment(ns, name, map[string]any{"clusterSelector": map[string]any{}}))
	p := preference(ns, name, 4, false, nil)
	g.Expect(unstructured.SetNestedField(p.Object, true, "spec", "rebalance")).To(Succeed())
	framework.ApplyObject(t, host, p)
	both := targetPlan{Placed: []string{"cce", "local"}, Replicas: split{"cce": 2, "local": 2}}
	plan := func() (targetPlan, error) { return readTargetPlan(t.Context(), host, ns, name) }
	g.Eventually(plan).WithTimeout(wait).WithPolling(poll).Should(Equal(both))
	g.Eventually(func() int32 { return getRSPIn(t, host, ns, name).Status.ReadyReplicas }).
		WithTimeout(wait).WithPolling(poll).Should(BeNumerically("==", 4), "every replica runs before cce fails")

	// While cce is away its copy is left as it is: what moves is local's share.
	onLocal := func() (int64, error) {
		p, err := plan()
		return p.Replicas["local"], err
	}
	// Each status change of a member's Deployment is a change the preference looks at, with
	// cce's readiness as it is then: before a readiness change, the Deployments are let settle.
	settled := func() {
		t.Helper()
		for _, cluster := range []string{"local", "cce"} {
			g.Eventually(func() (bool, error) {
				before, err := framework.GetObject(t.Context(), fed.Members[cluster], deploymentGVK, ns, name)
				if err != nil || before == nil {
					return false, err
				}
				time.Sleep(2 * time.Second)
				after, err := framework.GetObject(t.Context(), fed.Members[cluster], deploymentGVK, ns, name)
				return err == nil && after != nil && after.GetResourceVersion() == before.GetResourceVersion(), err
			}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "the Deployment in %s settles", cluster)
		}
	}
	settled()
	// A failure below leaves cce healthy again before the objects go, so that its copy can.
	t.Cleanup(func() { proxy.SetHealthy(true) })
	proxy.SetHealthy(false)
	g.Eventually(func() bool { return ready(t, host, "cce") }).WithTimeout(wait).WithPolling(poll).Should(BeFalse(), "cce is not Ready")
	notReady := time.Now()
	g.Consistently(onLocal).WithTimeout(unavailable-margin).WithPolling(poll).Should(BeNumerically("==", 2), "the split holds for the unavailableDelay")
	g.Eventually(onLocal).WithTimeout(wait).WithPolling(poll).Should(BeNumerically("==", 4), "cce's replicas move to local")
	t.Logf("replicas moved to local %v after cce was seen not Ready (unavailableDelay %v)", time.Since(notReady).Round(time.Millisecond), unavailable)

	g.Eventually(func() int32 { return getRSPIn(t, host, ns, name).Status.ReadyReplicas }).
		WithTimeout(wait).WithPolling(poll).Should(BeNumerically("==", 4), "local runs the 4 replicas")
	settled()
	proxy.SetHealthy(true)
	g.Eventually(func() bool { return ready(t, host, "cce") }).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "cce is Ready")
	readyAgain := time.Now()
	g.Consistently(onLocal).WithTimeout(available-margin).WithPolling(poll).Should(BeNumerically("==", 4), "local keeps the replicas for the availableDelay")
	g.Eventually(plan).WithTimeout(wait).WithPolling(poll).Should(Equal(both), "the split comes back")
	t.Logf("the split came back %v after cce was seen Ready (availableDelay %v)", time.Since(readyAgain).Round(time.Millisecond), available)
}
