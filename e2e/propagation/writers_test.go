package propagation_test

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/e2e/framework"
)

// memberWrites reads fed-controller's count of ConfigMap writes of one action to member
// local, with one result.
func memberWrites(t *testing.T, c *framework.Controller, action, result string) float64 {
	t.Helper()
	return c.Metric(t, "fedplane_member_writes_total", map[string]string{"cluster": "local", "type": "configmaps", "action": action, "result": result})
}

// fedEvents returns the reasons and messages of the events about a federated object.
func fedEvents(t *testing.T, host client.Client, namespace, kind, name string) func() ([]string, error) {
	return func() ([]string, error) {
		list := &eventsv1.EventList{}
		if err := host.List(t.Context(), list, client.InNamespace(namespace)); err != nil {
			return nil, err
		}
		out := []string{}
		for _, e := range list.Items {
			if e.Regarding.Kind == kind && e.Regarding.Name == name {
				out = append(out, e.Reason+": "+e.Note)
			}
		}
		return out, nil
	}
}

// TestAnotherWriterRevertingACopyIsBackedOff federates a namespace's kube-root-ca.crt with the
// host's data: the member's root-CA publisher (its kube-controller-manager) changes the copy
// back every time fed-controller applies it. fed-controller must notice the fight, back off
// (a handful of updates in 15 s, not hundreds), and say so in the status and in one event. A
// template that agrees with the publisher ends the fight.
func TestAnotherWriterRevertingACopyIsBackedOff(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	fed := startTypesFederation(t)
	host, local := fed.Host, fed.Members["local"]
	const namespace, name = "e2e-fight", "kube-root-ca.crt"
	federateNamespace(t, host, namespace, "local")
	// The publisher makes its own copy as soon as the namespace exists.
	g.Eventually(func() (*corev1.ConfigMap, error) {
		cm := &corev1.ConfigMap{}
		err := local.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, cm)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return cm, err
	}).WithTimeout(wait).WithPolling(poll).ShouldNot(BeNil())

	framework.ApplyObject(t, host, configMap(namespace, name, map[string]any{"ca.crt": "the host's CA, not the member's"}, "local"))
	// The copy is adopted; from then on the publisher and fed-controller disagree.
	g.Eventually(func() float64 { return memberWrites(t, fed.Controller, "Update", "success") }).
		WithTimeout(wait).WithPolling(poll).Should(BeNumerically(">", 0))
	before := memberWrites(t, fed.Controller, "Update", "success")
	time.Sleep(15 * time.Second)
	updates := memberWrites(t, fed.Controller, "Update", "success") - before
	t.Logf("fed-controller updated the fought-over copy %v times in the 15 s after the first update", updates)
	// Backing off from 5 s, doubling: two reverts more to notice the fight, then one update
	// at 5 s and one at 15 s.
	g.Expect(updates).To(BeNumerically("<=", 6), "updates of the copy in 15 s")
	g.Eventually(func(g Gomega) {
		st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, namespace, name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(clusterStatuses(st)).To(Equal([]string{"local=RevertedByAnotherWriter"}))
		g.Expect(propagation(st)).To(Equal("False/CheckClusters"))
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	events, err := fedEvents(t, host, namespace, "FederatedConfigMap", name)()
	g.Expect(err).NotTo(HaveOccurred())
	fights := 0
	for _, e := range events {
		if e == fmt.Sprintf("RevertedByAnotherWriter: Another writer keeps changing ConfigMap %s/%s in cluster local back after it is applied; fedplane backs off", namespace, name) {
			fights++
		}
	}
	g.Expect(fights).To(Equal(1), "one warning event for the fight, not one per retry: %v", events)

	// A template that says what the publisher says ends the fight at once.
	framework.ApplyObject(t, host, configMap(namespace, name, map[string]any{"ca.crt": string(lab.Cluster("local").CACert())}, "local"))
	g.Eventually(func(g Gomega) {
		st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, namespace, name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(clusterStatuses(st)).To(Equal([]string{"local="}))
		g.Expect(propagation(st)).To(Equal("True/"))
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
}

// TestCreateInATerminatingNamespaceWaitsForTheNamespace places a ConfigMap in a member
// namespace that a finalizer keeps Terminating. The member refuses the create (Forbidden);
// fed-controller must not retry it in a loop, must say CreationFailed for the cluster, and
// must create the copy once the namespace is gone and made again.
func TestCreateInATerminatingNamespaceWaitsForTheNamespace(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	fed := startTypesFederation(t)
	host, local := fed.Host, fed.Members["local"]
	const namespace, name, hold = "e2e-terminating", "held", "e2e.fedplane.io/hold"
	federateNamespace(t, host, namespace, "local")
	memberNS := &corev1.Namespace{}
	g.Eventually(func() error {
		return local.Get(t.Context(), client.ObjectKey{Name: namespace}, memberNS)
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	patch := client.MergeFrom(memberNS.DeepCopy())
	memberNS.Finalizers = append(memberNS.Finalizers, hold)
	g.Expect(local.Patch(t.Context(), memberNS, patch)).To(Succeed())
	g.Expect(local.Delete(t.Context(), memberNS)).To(Succeed())
	release := func() {
		ns := &corev1.Namespace{}
		if err := local.Get(t.Context(), client.ObjectKey{Name: namespace}, ns); err != nil {
			return
		}
		patch := client.MergeFrom(ns.DeepCopy())
		ns.Finalizers = nil
		_ = local.Patch(t.Context(), ns, patch)
	}
	t.Cleanup(release)

	framework.ApplyObject(t, host, configMap(namespace, name, map[string]any{"k": "v"}, "local"))
	g.Eventually(func() float64 { return memberWrites(t, fed.Controller, "Create", "error") }).
		WithTimeout(wait).WithPolling(poll).Should(BeNumerically(">", 0))
	before := memberWrites(t, fed.Controller, "Create", "error")
	time.Sleep(10 * time.Second)
	attempts := memberWrites(t, fed.Controller, "Create", "error") - before
	t.Logf("fed-controller tried %v more creates in the terminating namespace in the 10 s after the first", attempts)
	g.Expect(attempts).To(BeNumerically("<=", 1), "creates retried in 10 s in a terminating namespace")
	st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, namespace, name)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(clusterStatuses(st)).To(Equal([]string{"local=CreationFailed"}))
	g.Expect(propagation(st)).To(Equal("False/CheckClusters"))
	events, err := fedEvents(t, host, namespace, "FederatedConfigMap", name)()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(events).To(ContainElement(ContainSubstring("because it is being terminated")))

	// The namespace goes; the FederatedNamespace makes it again, and the copy follows.
	release()
	g.Eventually(func() error {
		return local.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, &corev1.ConfigMap{})
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), "the copy is created in the namespace made again")
	g.Eventually(func(g Gomega) {
		st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, namespace, name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(clusterStatuses(st)).To(Equal([]string{"local="}))
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
}
