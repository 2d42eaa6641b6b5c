package propagation_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
)

var namespaceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}

// testDeleteOptions deletes a FederatedDeployment whose kubefed.io/deleteoption says
// propagationPolicy Orphan: the member's garbage collector must keep the Deployment's
// ReplicaSet (and only drop its owner reference). A dryRun deleteoption is refused with
// DeletionFailed until the annotation is fixed.
func testDeleteOptions(t *testing.T, host client.Client, local client.Client) {
	g := NewWithT(t)
	federateNamespace(t, host, "e2e-delopt", "local")
	fd := fedObject(t, `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata:
  name: kept-rs
  namespace: e2e-delopt
  annotations:
    kubefed.io/deleteoption: '{"propagationPolicy":"Orphan"}'
spec:
  template:
    spec:
      replicas: 1
      selector: {matchLabels: {app: kept-rs}}
      template:
        metadata: {labels: {app: kept-rs}}
        spec: {containers: [{name: c, image: nginx}]}
  placement: {clusters: [{name: local}]}
`)
	framework.ApplyObject(t, host, fd)
	var rsName string
	g.Eventually(func(g Gomega) {
		list := &appsv1.ReplicaSetList{}
		g.Expect(local.List(t.Context(), list, client.InNamespace("e2e-delopt"), client.MatchingLabels{"app": "kept-rs"})).To(Succeed())
		g.Expect(list.Items).To(HaveLen(1))
		g.Expect(list.Items[0].OwnerReferences).To(HaveLen(1))
		rsName = list.Items[0].Name
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), "the member's Deployment has its ReplicaSet")

	g.Expect(host.Delete(t.Context(), fd)).To(Succeed())
	g.Eventually(func() (bool, error) {
		d, err := framework.GetObject(t.Context(), local, deploymentGVK, "e2e-delopt", "kept-rs")
		return d == nil, err
	}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "the Deployment copy is deleted")
	// The garbage collector orphans the ReplicaSet: it drops the owner reference. With the
	// default (background) policy it would delete the ReplicaSet instead.
	g.Eventually(func(g Gomega) {
		rs := &appsv1.ReplicaSet{}
		g.Expect(local.Get(t.Context(), client.ObjectKey{Namespace: "e2e-delopt", Name: rsName}, rs)).To(Succeed())
		g.Expect(rs.DeletionTimestamp).To(BeNil())
		g.Expect(rs.OwnerReferences).To(BeEmpty())
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), "the ReplicaSet is orphaned, not deleted")
	g.Consistently(func() error {
		return local.Get(t.Context(), client.ObjectKey{Namespace: "e2e-delopt", Name: rsName}, &appsv1.ReplicaSet{})
	}).WithTimeout(3*time.Second).WithPolling(500*time.Millisecond).Should(Succeed(), "the ReplicaSet stays")

	// A dry-run delete would never remove the copy: fedplane refuses it and says so.
	dry := configMap("e2e-delopt", "dry", map[string]any{"k": "v"}, "local")
	dry.SetAnnotations(map[string]string{contract.DeleteOptionAnnotation: `{"dryRun":["All"]}`})
	framework.ApplyObject(t, host, dry)
	g.Eventually(presence(t, map[string]client.Client{"local": local}, configMapGVK, "e2e-delopt", "dry")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]bool{"local": true}))
	g.Expect(host.Delete(t.Context(), configMap("e2e-delopt", "dry", nil))).To(Succeed())
	g.Eventually(func() ([]string, error) {
		st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, "e2e-delopt", "dry")
		return clusterStatuses(st), err
	}).WithTimeout(wait).WithPolling(poll).Should(Equal([]string{"local=" + string(typesv1beta1.DeletionFailed)}))
	g.Eventually(func() ([]string, error) {
		list := &eventsv1.EventList{}
		err := host.List(t.Context(), list, client.InNamespace("e2e-delopt"))
		var notes []string
		for _, e := range list.Items {
			if e.Regarding.Name == "dry" && e.Type == corev1.EventTypeWarning {
				notes = append(notes, e.Note)
			}
		}
		return notes, err
	}).WithTimeout(wait).WithPolling(poll).Should(ContainElement(ContainSubstring("dryRun")))
	cm, err := framework.GetObject(t.Context(), local, configMapGVK, "e2e-delopt", "dry")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm).NotTo(BeNil(), "the copy stays while the annotation asks for a dry run")
	// Fixing the annotation lets the deletion finish.
	g.Expect(host.Patch(t.Context(), configMap("e2e-delopt", "dry", nil), client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"kubefed.io/deleteoption":null}}}`)))).To(Succeed())
	g.Eventually(func() (bool, error) {
		o, err := framework.GetObject(t.Context(), host, federatedConfigMapGVK, "e2e-delopt", "dry")
		return o == nil, err
	}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "the federated object goes once the annotation is fixed")
	g.Eventually(presence(t, map[string]client.Client{"local": local}, configMapGVK, "e2e-delopt", "dry")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]bool{"local": false}))
}

// testManagedLabelRemoved creates, directly in a member, objects labelled kubefed.io/managed
// that no federated object stands for: those this control plane may own lose the label and
// its annotations; those of another control plane, or written for another registration, keep
// theirs.
func testManagedLabelRemoved(t *testing.T, host client.Client, local client.Client) {
	g := NewWithT(t)
	federateNamespace(t, host, "e2e-stray", "local")
	g.Eventually(presence(t, map[string]client.Client{"local": local}, namespaceGVK, "", "e2e-stray")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]bool{"local": true}))
	stray := func(name string, annotations map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: "e2e-stray", Name: name, Labels: map[string]string{contract.ManagedLabel: "true", "keep": "me"}, Annotations: annotations},
			Data:       map[string]string{"k": "v"},
		}
	}
	for _, cm := range []*corev1.ConfigMap{
		stray("kubefed-style", nil),
		stray("ours", map[string]string{contract.ControlPlaneAnnotation: "fedplane-a", contract.ClusterAnnotation: "local", contract.AppliedAnnotation: "x", "user": "note"}),
		stray("theirs", map[string]string{contract.ControlPlaneAnnotation: "fedplane-other", contract.ClusterAnnotation: "local"}),
		stray("other-registration", map[string]string{contract.ControlPlaneAnnotation: "fedplane-a", contract.ClusterAnnotation: "local-old"}),
	} {
		g.Expect(local.Create(t.Context(), cm)).To(Succeed(), cm.Name)
	}
	for _, name := range []string{"kubefed-style", "ours"} {
		g.Eventually(func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(local.Get(t.Context(), client.ObjectKey{Namespace: "e2e-stray", Name: name}, cm)).To(Succeed())
			g.Expect(cm.Labels).To(Equal(map[string]string{"keep": "me"}))
			g.Expect(cm.Annotations).NotTo(HaveKey(contract.ControlPlaneAnnotation))
			g.Expect(cm.Annotations).NotTo(HaveKey(contract.ClusterAnnotation))
			g.Expect(cm.Annotations).NotTo(HaveKey(contract.AppliedAnnotation))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), "%s loses the managed label", name)
	}
	cm := &corev1.ConfigMap{}
	g.Expect(local.Get(t.Context(), client.ObjectKey{Namespace: "e2e-stray", Name: "ours"}, cm)).To(Succeed())
	g.Expect(cm.Annotations).To(HaveKeyWithValue("user", "note"), "other annotations stay")
	for _, name := range []string{"theirs", "other-registration"} {
		g.Consistently(func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(local.Get(t.Context(), client.ObjectKey{Namespace: "e2e-stray", Name: name}, cm)).To(Succeed())
			g.Expect(cm.Labels).To(HaveKeyWithValue(contract.ManagedLabel, "true"))
			g.Expect(cm.Annotations).To(HaveKey(contract.ControlPlaneAnnotation))
			g.Expect(cm.Annotations).To(HaveKey(contract.ClusterAnnotation))
		}).WithTimeout(3*time.Second).WithPolling(300*time.Millisecond).Should(Succeed(), "%s keeps its label", name)
	}
}

// testHostNamespace joins the host to itself as KubeFedCluster host and federates namespaces
// onto it: the host's own namespace, which holds the FederatedNamespace, is never deleted
// through that registration, and deleting either the FederatedNamespace or the namespace
// finishes.
func testHostNamespace(t *testing.T, host client.Client, local client.Client) {
	g := NewWithT(t)
	h := lab.Host()
	g.Expect(h.Register(t.Context(), host, framework.Registration{CABundle: h.CACert()})).To(Succeed())
	t.Cleanup(func() { _ = framework.Unregister(context.Background(), host, framework.HostName) })
	g.Eventually(func() (bool, error) {
		kfc := &corev1beta1.KubeFedCluster{}
		err := host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: framework.HostName}, kfc)
		return cluster.IsReady(kfc.Status), err
	}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "the host is Ready as a member")

	managedOnHost := func(name string) func(g Gomega) {
		return func(g Gomega) {
			n := &corev1.Namespace{}
			g.Expect(host.Get(t.Context(), client.ObjectKey{Name: name}, n)).To(Succeed())
			g.Expect(n.Labels).To(HaveKeyWithValue(contract.ManagedLabel, "true"))
			st, err := fedStatus(t.Context(), host, federatedNamespaceGVK, name, name)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(propagation(st)).To(Equal("True/"))
		}
	}
	fedGone := func(name string) func() (bool, error) {
		return func() (bool, error) {
			o, err := framework.GetObject(t.Context(), host, federatedNamespaceGVK, name, name)
			return o == nil, err
		}
	}

	// Deleting the FederatedNamespace leaves the host's namespace, unlabelled, and removes
	// the copy in local.
	federateNamespace(t, host, "e2e-hostns", framework.HostName, "local")
	g.Eventually(managedOnHost("e2e-hostns")).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	fns := &unstructured.Unstructured{}
	fns.SetGroupVersionKind(federatedNamespaceGVK)
	fns.SetNamespace("e2e-hostns")
	fns.SetName("e2e-hostns")
	g.Expect(host.Delete(t.Context(), fns)).To(Succeed())
	g.Eventually(fedGone("e2e-hostns")).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "the FederatedNamespace goes")
	n := &corev1.Namespace{}
	g.Expect(host.Get(t.Context(), client.ObjectKey{Name: "e2e-hostns"}, n)).To(Succeed())
	g.Expect(n.DeletionTimestamp).To(BeNil(), "the host's namespace is not deleted")
	g.Expect(n.Labels).NotTo(HaveKey(contract.ManagedLabel))
	g.Eventually(func() (bool, error) {
		n, err := framework.GetObject(t.Context(), local, namespaceGVK, "", "e2e-hostns")
		return n == nil || n.GetDeletionTimestamp() != nil, err
	}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "the copy in local is deleted")

	// Deleting the host's namespace (as KubeFed's suite deletes its test namespace) deletes
	// the FederatedNamespace in it, and both go.
	federateNamespace(t, host, "e2e-hostns2", framework.HostName, "local")
	g.Eventually(managedOnHost("e2e-hostns2")).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	g.Expect(host.Delete(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-hostns2"}})).To(Succeed())
	g.Eventually(fedGone("e2e-hostns2")).WithTimeout(60*time.Second).WithPolling(poll).Should(BeTrue(), "the FederatedNamespace goes")
	g.Eventually(func() (bool, error) {
		n, err := framework.GetObject(t.Context(), host, namespaceGVK, "", "e2e-hostns2")
		return n == nil, err
	}).WithTimeout(60*time.Second).WithPolling(poll).Should(BeTrue(), "the host's namespace is deleted")
}
