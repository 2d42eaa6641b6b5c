package safety_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/federate"
)

var (
	lab *framework.Lab
	// controllerBinary is fed-controller, built once by TestMain.
	controllerBinary string
)

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithLabAndController(m, framework.Options{Members: []string{"local", "cce"}}, &lab, &controllerBinary))
}

const (
	wait = 30 * time.Second
	poll = 100 * time.Millisecond
	// controlPlaneID is the id of the suite's fed-controller.
	controlPlaneID = "fedplane-safety"
)

// TestSafety runs fed-controller against the lab's host with members local and cce, and
// checks each data-safety and isolation defect that fedplane once had, one subtest each.
func TestSafety(t *testing.T) {
	framework.Require(t, lab)
	// The member timeout is fed-controller's default, as operators run it.
	fed := framework.StartFederationWithFlags(t, lab, controllerBinary, controlPlaneID, []string{"local", "cce"}, []string{"--member-timeout", federate.DefaultMemberTimeout.String()})
	host := fed.Host
	local, cce := fed.Members["local"], fed.Members["cce"]
	framework.FederateNamespace(t, host, "safety", "local", "cce")

	t.Run("a second registration of the same API server deletes nothing", func(t *testing.T) {
		g := NewWithT(t)
		framework.FederateNamespace(t, host, "alias", "cce")
		g.Eventually(func(g Gomega) {
			n, err := framework.GetObject(t.Context(), cce, namespaceGVK, "", "alias")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(n).NotTo(BeNil())
			g.Expect(n.GetLabels()).To(HaveKeyWithValue(contract.ManagedLabel, "true"))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		userData := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "alias", Name: "user-data"}, Data: map[string]string{"orders": "42"}}
		g.Expect(cce.Create(t.Context(), userData)).To(Succeed())

		member := lab.Cluster("cce")
		g.Expect(member.Register(t.Context(), host, framework.Registration{Name: "cce-alias", CABundle: member.CACert()})).To(Succeed())
		t.Cleanup(func() { _ = framework.Unregister(context.Background(), host, "cce-alias") })
		started := time.Now()
		// The namespace and the user's objects in it stay, while the duplicate is registered.
		g.Consistently(func(g Gomega) {
			n, err := framework.GetObject(t.Context(), cce, namespaceGVK, "", "alias")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(n).NotTo(BeNil())
			g.Expect(n.GetDeletionTimestamp()).To(BeNil(), "namespace alias in cce is being deleted")
			cm, err := framework.GetObject(t.Context(), cce, configMapGVK, "alias", "user-data")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cm).NotTo(BeNil())
		}).WithTimeout(8 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
		g.Eventually(func(g Gomega) {
			kfc := &corev1beta1.KubeFedCluster{}
			g.Expect(host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "cce-alias"}, kfc)).To(Succeed())
			status, reason, message := readyCondition(kfc)
			g.Expect(status).To(Equal("False"))
			g.Expect(reason).To(Equal(corev1beta1.ReasonDuplicateCluster))
			g.Expect(message).To(ContainSubstring("KubeFedCluster cce "))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		t.Logf("namespace alias and the user's data in cce stayed for 8s after cce-alias was registered; cce-alias said DuplicateCluster by %v", time.Since(started).Round(time.Millisecond))
		kfc := &corev1beta1.KubeFedCluster{}
		g.Expect(host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "cce"}, kfc)).To(Succeed())
		g.Expect(cluster.IsReady(kfc.Status)).To(BeTrue(), "the older registration stays Ready")
		g.Expect(kfc.Status.ClusterID).NotTo(BeEmpty())
	})

	t.Run("a copy written for another registration is never deleted or changed", func(t *testing.T) {
		g := NewWithT(t)
		// A copy in cce that this control plane wrote for another registration of cce.
		theirs := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: "safety", Name: "fenced",
				Labels:      map[string]string{contract.ManagedLabel: "true"},
				Annotations: map[string]string{contract.ControlPlaneAnnotation: controlPlaneID, contract.ClusterAnnotation: "cce-old"},
			},
			Data: map[string]string{"owner": "cce-old"},
		}
		// The namespace reaches cce with its FederatedNamespace.
		g.Eventually(func() error { return cce.Create(t.Context(), theirs.DeepCopy()) }).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		framework.ApplyObject(t, host, framework.FederatedConfigMap("safety", "fenced", map[string]any{"owner": "federation"}, "local"))
		g.Eventually(func(g Gomega) {
			cm, err := framework.GetObject(t.Context(), local, configMapGVK, "safety", "fenced")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cm).NotTo(BeNil())
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		unchanged := func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(cce.Get(t.Context(), client.ObjectKey{Namespace: "safety", Name: "fenced"}, cm)).To(Succeed())
			g.Expect(cm.DeletionTimestamp).To(BeNil())
			g.Expect(cm.Data).To(Equal(map[string]string{"owner": "cce-old"}))
			g.Expect(cm.Annotations).To(HaveKeyWithValue(contract.ClusterAnnotation, "cce-old"))
		}
		// cce is not selected: the copy is not deleted.
		g.Consistently(unchanged).WithTimeout(4 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
		// cce is selected: the copy is not written, and the status names the conflict.
		framework.ApplyObject(t, host, framework.FederatedConfigMap("safety", "fenced", map[string]any{"owner": "federation"}, "local", "cce"))
		g.Eventually(func(g Gomega) {
			st, err := fedStatus(t.Context(), host, "fenced")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(clusterStatuses(st)).To(Equal([]string{"cce=" + string(typesv1beta1.ManagedForAnotherCluster), "local="}))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		g.Consistently(unchanged).WithTimeout(2 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	})

	t.Run("retainReplicas keeps the member's replicas across template changes", func(t *testing.T) {
		g := NewWithT(t)
		fd := func(image string, replicas int64, retain bool) *unstructured.Unstructured {
			return &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedDeployment",
				"metadata": map[string]any{"name": "retained", "namespace": "safety"},
				"spec": map[string]any{
					"retainReplicas": retain,
					"placement":      map[string]any{"clusters": framework.ClusterRefs("local")},
					"template": map[string]any{"spec": map[string]any{
						"replicas": replicas,
						"selector": map[string]any{"matchLabels": map[string]any{"app": "retained"}},
						"template": map[string]any{
							"metadata": map[string]any{"labels": map[string]any{"app": "retained"}},
							"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": image}}},
						},
					}},
				},
			}}
		}
		// member waits until local's Deployment runs image, then checks its replicas for a while.
		member := func(image string, replicas int64) {
			t.Helper()
			g.Eventually(func(g Gomega) {
				d, err := framework.GetObject(t.Context(), local, deploymentGVK, "safety", "retained")
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(d).NotTo(BeNil())
				containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
				g.Expect(containers).To(HaveLen(1))
				g.Expect(containers[0].(map[string]any)["image"]).To(Equal(image))
			}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
			g.Consistently(func(g Gomega) {
				d, err := framework.GetObject(t.Context(), local, deploymentGVK, "safety", "retained")
				g.Expect(err).NotTo(HaveOccurred())
				got, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
				g.Expect(got).To(Equal(replicas), "spec.replicas of local's Deployment")
			}).WithTimeout(2 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
		}
		framework.ApplyObject(t, host, fd("nginx:1.26", 3, false))
		member("nginx:1.26", 3)
		// retainReplicas on, and a new image: the member keeps its 3.
		framework.ApplyObject(t, host, fd("nginx:1.27", 3, true))
		member("nginx:1.27", 3)
		// The member is scaled as an autoscaler would, then the template changes again.
		d := &unstructured.Unstructured{}
		d.SetGroupVersionKind(deploymentGVK)
		d.SetNamespace("safety")
		d.SetName("retained")
		g.Expect(local.SubResource("scale").Patch(t.Context(), d, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":5}}`)), client.FieldOwner("autoscaler"))).To(Succeed())
		framework.ApplyObject(t, host, fd("nginx:1.28", 4, true))
		member("nginx:1.28", 5)
		// retainReplicas off: the template's replicas are applied.
		framework.ApplyObject(t, host, fd("nginx:1.28", 4, false))
		g.Eventually(func(g Gomega) {
			d, err := framework.GetObject(t.Context(), local, deploymentGVK, "safety", "retained")
			g.Expect(err).NotTo(HaveOccurred())
			got, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
			g.Expect(got).To(Equal(int64(4)))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	})

	t.Run("fields removed from the template are removed from the members", func(t *testing.T) {
		g := NewWithT(t)
		obj := framework.FederatedConfigMap("safety", "shrinking", map[string]any{"keep": "1", "drop": "2"}, "local", "cce")
		g.Expect(unstructured.SetNestedStringMap(obj.Object, map[string]string{"keep": "yes", "drop": "yes"}, "spec", "template", "metadata", "labels")).To(Succeed())
		framework.ApplyObject(t, host, obj)
		for name, mc := range map[string]client.Client{"local": local, "cce": cce} {
			g.Eventually(func(g Gomega) {
				cm := &corev1.ConfigMap{}
				g.Expect(mc.Get(t.Context(), client.ObjectKey{Namespace: "safety", Name: "shrinking"}, cm)).To(Succeed())
				g.Expect(cm.Data).To(HaveKey("drop"))
				g.Expect(cm.Labels).To(HaveKey("drop"))
			}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), "cluster %s", name)
		}
		// A label that someone else adds in a member is theirs: it stays.
		theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "safety", Name: "shrinking", Labels: map[string]string{"added-by": "ops"}}}
		theirs.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
		g.Expect(local.Patch(t.Context(), theirs, client.Merge, client.FieldOwner("ops"))).To(Succeed())

		unstructured.RemoveNestedField(obj.Object, "spec", "template", "data", "drop")
		unstructured.RemoveNestedField(obj.Object, "spec", "template", "metadata", "labels", "drop")
		framework.ApplyObject(t, host, obj)
		for name, mc := range map[string]client.Client{"local": local, "cce": cce} {
			g.Eventually(func(g Gomega) {
				cm := &corev1.ConfigMap{}
				g.Expect(mc.Get(t.Context(), client.ObjectKey{Namespace: "safety", Name: "shrinking"}, cm)).To(Succeed())
				g.Expect(cm.Data).To(Equal(map[string]string{"keep": "1"}))
				g.Expect(cm.Labels).NotTo(HaveKey("drop"))
				g.Expect(cm.Labels).To(HaveKeyWithValue("keep", "yes"))
			}).WithTimeout(10*time.Second).WithPolling(poll).Should(Succeed(), "cluster %s", name)
		}
		cm := &corev1.ConfigMap{}
		g.Expect(local.Get(t.Context(), client.ObjectKey{Namespace: "safety", Name: "shrinking"}, cm)).To(Succeed())
		g.Expect(cm.Labels).To(HaveKeyWithValue("added-by", "ops"))
		st, err := fedStatus(t.Context(), host, "shrinking")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(propagation(st)).To(Equal("True/"))
	})

	t.Run("a re-join retries the objects that failed in the cluster", func(t *testing.T) {
		g := NewWithT(t)
		// local's registration gets a token that may read ConfigMaps but not write them, as
		// a join whose role lacks a kind does; then it gets a good one, as a re-join gives.
		cs, err := lab.Cluster("local").Clientset()
		g.Expect(err).NotTo(HaveOccurred())
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "reader"}}
		g.Expect(local.Create(t.Context(), sa)).To(Succeed())
		g.Expect(local.Create(t.Context(), &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "configmap-reader"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch"}}},
		})).To(Succeed())
		g.Expect(local.Create(t.Context(), &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "configmap-reader"},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "configmap-reader"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "default", Name: "reader"}},
		})).To(Succeed())
		tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(t.Context(), "reader", &authv1.TokenRequest{}, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		setToken := func(token string) {
			// It also runs in the cleanup, when the test's context is over.
			ctx := context.Background()
			secret := &corev1.Secret{}
			g.Expect(host.Get(ctx, client.ObjectKey{Namespace: ns, Name: "local-token"}, secret)).To(Succeed())
			secret.Data[cluster.TokenKey] = []byte(token)
			g.Expect(host.Update(ctx, secret)).To(Succeed())
		}
		setToken(tr.Status.Token)
		t.Cleanup(func() { setToken(lab.Cluster("local").Token()) })
		// Give the probe loop time to start again with the weak token.
		time.Sleep(3 * time.Second)
		framework.ApplyObject(t, host, framework.FederatedConfigMap("safety", "retried", map[string]any{"k": "v"}, "local"))
		g.Eventually(func(g Gomega) {
			st, err := fedStatus(t.Context(), host, "retried")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(clusterStatuses(st)).To(Equal([]string{"local=CreationFailed"}))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		// Let the failures pile up a backoff.
		time.Sleep(30 * time.Second)
		// Re-join: the member's role gets what it lacked, and the registration is stamped.
		role := &rbacv1.ClusterRole{}
		g.Expect(local.Get(t.Context(), client.ObjectKey{Name: "configmap-reader"}, role)).To(Succeed())
		role.Rules[0].Verbs = append(role.Rules[0].Verbs, "create", "update", "patch", "delete")
		g.Expect(local.Update(t.Context(), role)).To(Succeed())
		kfc := &corev1beta1.KubeFedCluster{}
		g.Expect(host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "local"}, kfc)).To(Succeed())
		patch := client.MergeFrom(kfc.DeepCopy())
		kfc.SetAnnotations(map[string]string{cluster.JoinedAnnotation: time.Now().UTC().Format(time.RFC3339)})
		g.Expect(host.Patch(t.Context(), kfc, patch)).To(Succeed())
		started := time.Now()
		g.Eventually(func(g Gomega) {
			cm, err := framework.GetObject(t.Context(), local, configMapGVK, "safety", "retried")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cm).NotTo(BeNil())
			st, err := fedStatus(t.Context(), host, "retried")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(clusterStatuses(st)).To(Equal([]string{"local="}))
		}).WithTimeout(5 * time.Second).WithPolling(poll).Should(Succeed())
		t.Logf("the object reached local %v after the re-join", time.Since(started).Round(time.Millisecond))
	})

	t.Run("one hung member stalls no other member", func(t *testing.T) {
		g := NewWithT(t)
		url, ca := hungServer(t)
		g.Expect(framework.RegisterEndpoint(t.Context(), host, "wedged", url, ca, "wedged-token")).To(Succeed())
		t.Cleanup(func() { _ = framework.Unregister(context.Background(), host, "wedged") })
		framework.FederateNamespace(t, host, "isolation", "local", "cce", "wedged")
		g.Eventually(func(g Gomega) {
			kfc := &corev1beta1.KubeFedCluster{}
			g.Expect(host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "wedged"}, kfc)).To(Succeed())
			g.Expect(kfc.Status.Conditions).NotTo(BeEmpty(), "the wedged registration has been probed")
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		started := time.Now()
		const n = 40
		for i := range n {
			clusters := []string{"local"}
			if i%2 == 1 {
				clusters = append(clusters, "wedged")
			}
			framework.ApplyObject(t, host, framework.FederatedConfigMap("isolation", fmt.Sprintf("cm-%d", i), map[string]any{"i": fmt.Sprint(i)}, clusters...))
		}
		g.Eventually(func(g Gomega) {
			list := &corev1.ConfigMapList{}
			g.Expect(local.List(t.Context(), list, client.InNamespace("isolation"), client.MatchingLabels{contract.ManagedLabel: "true"})).To(Succeed())
			g.Expect(list.Items).To(HaveLen(n))
		}).WithTimeout(15 * time.Second).WithPolling(poll).Should(Succeed())
		t.Logf("all %d objects reached local %v after the first was applied, with the wedged registration in place", n, time.Since(started).Round(time.Millisecond))
		// The wedged registration answers /readyz but nothing else: it is not Ready, and
		// says why.
		g.Eventually(func(g Gomega) {
			kfc := &corev1beta1.KubeFedCluster{}
			g.Expect(host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "wedged"}, kfc)).To(Succeed())
			status, _, message := readyCondition(kfc)
			g.Expect(status).To(Equal("False"))
			g.Expect(message).To(ContainSubstring("kube-system"))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	})

	t.Run("a stopped member delays no change to another member", func(t *testing.T) {
		g := NewWithT(t)
		member := lab.Cluster("cce")
		g.Expect(member.StopAPIServer()).To(Succeed())
		stopped := true
		resume := func() {
			if stopped {
				g.Expect(member.ContinueAPIServer()).To(Succeed())
				stopped = false
			}
		}
		t.Cleanup(resume)
		const n = 60
		started := time.Now()
		for i := range n {
			framework.ApplyObject(t, host, framework.FederatedConfigMap("safety", fmt.Sprintf("both-%d", i), map[string]any{"i": fmt.Sprint(i)}, "local", "cce"))
		}
		applied := time.Since(started)
		g.Eventually(managedWithPrefix(t, local, "both-")).WithTimeout(5 * time.Second).WithPolling(50 * time.Millisecond).Should(Equal(n))
		t.Logf("with cce stopped, all %d objects reached local %v after the first was applied (applying took %v)", n, time.Since(started).Round(time.Millisecond), applied.Round(time.Millisecond))
		resume()
		g.Eventually(managedWithPrefix(t, cce, "both-")).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Equal(n))
		g.Eventually(func(g Gomega) {
			for i := range n {
				st, err := fedStatus(t.Context(), host, fmt.Sprintf("both-%d", i))
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(propagation(st)).To(Equal("True/"), "both-%d", i)
			}
		}).WithTimeout(60 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	})
}
