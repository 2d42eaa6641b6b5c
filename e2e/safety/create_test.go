package safety_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// TestCopiesAreCreatedWithoutBeingReadFirst: a copy that the member's cache does not hold is
// made with a create, with no read of the member before it. An object that the cache does not
// hold (the cache holds managed copies only) makes that create fail with AlreadyExists; it is
// read then and decided on: one marked kubefed.io/managed=false is neither written over nor
// changed, and a user's unlabelled one is adopted, as adoptResources (on by default) asks. The
// member is reached through a proxy that records each read of one object and each write.
func TestCopiesAreCreatedWithoutBeingReadFirst(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	host := framework.InstallHost(t, lab.Host())
	member := lab.Cluster("cce")
	mc := framework.MemberClient(t, member)
	const name, namespace, copies = "cce-counted", "counted", 20
	proxy := framework.StartCountingProxy(t, member)
	g.Expect(framework.RegisterEndpoint(t.Context(), host, name, proxy.Endpoint, proxy.CA, member.Token())).To(Succeed())
	t.Cleanup(func() { _ = framework.Unregister(context.Background(), host, name) })
	framework.StartController(t, controllerBinary, lab.Host(), controlPlaneID)
	g.Eventually(func(g Gomega) {
		kfc := &corev1beta1.KubeFedCluster{}
		g.Expect(host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, kfc)).To(Succeed())
		g.Expect(cluster.IsReady(kfc.Status)).To(BeTrue(), "%s is Ready", name)
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	framework.FederateNamespace(t, host, namespace, name)
	g.Eventually(func() error {
		return mc.Get(t.Context(), client.ObjectKey{Name: namespace}, &corev1.Namespace{})
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	kept := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "kept", Labels: map[string]string{contract.ManagedLabel: "false"}}, Data: map[string]string{"owner": "user"}}
	g.Expect(mc.Create(t.Context(), kept)).To(Succeed())
	adopted := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "adopted"}, Data: map[string]string{"owner": "user"}}
	g.Expect(mc.Create(t.Context(), adopted)).To(Succeed())

	for i := range copies {
		framework.ApplyObject(t, host, framework.FederatedConfigMap(namespace, fmt.Sprintf("made-%d", i), map[string]any{"v": "1"}, name))
	}
	for _, user := range []string{"kept", "adopted"} {
		framework.ApplyObject(t, host, framework.FederatedConfigMap(namespace, user, map[string]any{"owner": "federation"}, name))
	}
	g.Eventually(func(g Gomega) {
		list := &corev1.ConfigMapList{}
		g.Expect(mc.List(t.Context(), list, client.InNamespace(namespace), client.MatchingLabels{contract.ManagedLabel: "true"})).To(Succeed())
		var names []string
		for _, cm := range list.Items {
			names = append(names, cm.Name)
		}
		g.Expect(names).To(HaveLen(copies + 1))
		g.Expect(names).To(ContainElement("adopted"))
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	for user, want := range map[string]typesv1beta1.PropagationStatus{"kept": typesv1beta1.ManagedLabelFalse, "adopted": typesv1beta1.ClusterPropagationOK} {
		g.Eventually(func(g Gomega) {
			st, err := framework.FederatedStatus(t.Context(), host, federatedConfigMapGVK, namespace, user)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(clusterStatuses(st)).To(Equal([]string{name + "=" + string(want)}))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), user)
	}
	got := &corev1.ConfigMap{}
	g.Expect(mc.Get(t.Context(), client.ObjectKeyFromObject(kept), got)).To(Succeed())
	g.Expect(got.Data).To(Equal(map[string]string{"owner": "user"}))
	g.Expect(got.ResourceVersion).To(Equal(kept.ResourceVersion), "the ConfigMap marked managed=false is not written")
	g.Expect(mc.Get(t.Context(), client.ObjectKeyFromObject(adopted), got)).To(Succeed())
	g.Expect(got.Data).To(Equal(map[string]string{"owner": "federation"}))

	prefix := "/api/v1/namespaces/" + namespace + "/configmaps/"
	creates := map[int]int{}
	writes := map[string]int{}
	// A create's path does not name its object: its answer's resourceVersion does, as the
	// copies are not written again (see writes).
	createdAt := map[string]time.Time{}
	for _, w := range proxy.Writes() {
		switch {
		case w.Method == http.MethodPost && w.Path == "/api/v1/namespaces/"+namespace+"/configmaps":
			creates[w.Status]++
			if w.Status == http.StatusCreated {
				createdAt[w.ResourceVersion] = w.Received
			}
		case strings.HasPrefix(w.Path, prefix):
			writes[w.Method+" "+strings.TrimPrefix(w.Path, prefix)]++
		}
	}
	created := map[string]time.Time{}
	list := &corev1.ConfigMapList{}
	g.Expect(mc.List(t.Context(), list, client.InNamespace(namespace))).To(Succeed())
	for _, cm := range list.Items {
		if at, ok := createdAt[cm.ResourceVersion]; ok {
			created[cm.Name] = at
		}
	}
	reads := map[string]int{}
	var readFirst []string
	for _, r := range proxy.Reads() {
		n, ok := strings.CutPrefix(r.Path, prefix)
		if !ok {
			continue
		}
		if strings.HasPrefix(n, "made-") {
			if at, ok := created[n]; !ok || r.Received.Before(at) {
				readFirst = append(readFirst, n)
			}
			n = "made-*"
		}
		reads[n]++
	}
	t.Logf("%d copies made; reads by name %v; creates by answer %v; other writes %v", copies, reads, creates, writes)
	g.Expect(created).To(HaveLen(copies), "each copy is the answer of a create")
	g.Expect(readFirst).To(BeEmpty(), "no copy is read before it is made")
	g.Expect(reads["kept"]).To(BeNumerically(">=", 1), "the object is read once its create fails")
	g.Expect(reads["adopted"]).To(BeNumerically(">=", 1), "the object is read once its create fails")
	g.Expect(creates[http.StatusCreated]).To(Equal(copies))
	g.Expect(creates[http.StatusConflict]).To(BeNumerically(">=", 2), "the creates of the users' objects fail")
	g.Expect(writes).To(HaveKey("PATCH adopted"))
	g.Expect(writes).NotTo(HaveKey("PATCH kept"))
	g.Expect(writes).To(HaveLen(1), "no write but the adoption reaches a ConfigMap by name")

	// Once its status says ManagedLabelFalse, the object is read at the next sync, not sent a
	// create that is refused again: a changed template makes that sync.
	keptCreates := func() int {
		n := 0
		for _, w := range proxy.Writes() {
			if w.Method == http.MethodPost && w.Object == prefix+"kept" {
				n++
			}
		}
		return n
	}
	before := keptCreates()
	framework.ApplyObject(t, host, framework.FederatedConfigMap(namespace, "kept", map[string]any{"owner": "federation, again"}, name))
	g.Eventually(func(g Gomega) {
		fed, err := framework.GetObject(t.Context(), host, federatedConfigMapGVK, namespace, "kept")
		g.Expect(err).NotTo(HaveOccurred())
		observed, _, _ := unstructured.NestedInt64(fed.Object, "status", "observedGeneration")
		g.Expect(observed).To(Equal(fed.GetGeneration()), "the changed template is synced")
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	g.Expect(keptCreates()).To(Equal(before), "no create is sent for an object known to be left alone")
	g.Expect(mc.Get(t.Context(), client.ObjectKeyFromObject(kept), got)).To(Succeed())
	g.Expect(got.ResourceVersion).To(Equal(kept.ResourceVersion), "the ConfigMap marked managed=false is not written")
}
