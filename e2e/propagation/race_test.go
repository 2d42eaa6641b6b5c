package propagation_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

// TestTwoControlPlanesCreatingOneCopyNeverWriteOverEachOther: two control planes, each with its
// own host, place objects of the same names into the member local at the same moment. Each copy
// is made by one of them, and the other, whose create fails, reports it as another control
// plane's and never writes it: every copy keeps its first content, which a watch of the member
// checks for the whole test.
func TestTwoControlPlanesCreatingOneCopyNeverWriteOverEachOther(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	const namespace, objects = "race", 30
	hosts := map[string]client.Client{
		"fedplane-a": framework.StartFederation(t, lab, controllerBinary, "fedplane-a", "local").Host,
		"fedplane-b": framework.InstallHost(t, lab.Cluster("host2")),
	}
	err := hosts["fedplane-b"].Get(t.Context(), client.ObjectKey{Namespace: corev1beta1.DefaultNamespace, Name: "local"}, &corev1beta1.KubeFedCluster{})
	if apierrors.IsNotFound(err) {
		framework.RegisterMember(t, hosts["fedplane-b"], lab.Cluster("local"), nil)
	}
	framework.StartController(t, controllerBinary, lab.Cluster("host2"), "fedplane-b")
	local := framework.MemberClient(t, lab.Cluster("local"))
	// Registered after the controllers' own cleanups, so run before them: the federated
	// objects go while both control planes still run to remove their finalizers.
	t.Cleanup(func() {
		for _, host := range hosts {
			_ = host.DeleteAllOf(context.Background(), framework.FederatedConfigMap(namespace, "", nil), client.InNamespace(namespace))
		}
		for _, host := range hosts {
			for range 300 {
				list := &unstructured.UnstructuredList{}
				list.SetGroupVersionKind(federatedConfigMapGVK.GroupVersion().WithKind("FederatedConfigMapList"))
				if err := host.List(context.Background(), list, client.InNamespace(namespace)); err != nil || len(list.Items) == 0 {
					break
				}
				time.Sleep(poll)
			}
		}
	})
	// The namespace is the user's in local, and each control plane federates it (it is left
	// alone in local as not managed by either): only the ConfigMaps race.
	g.Expect(local.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: map[string]string{contract.ManagedLabel: "false"}}})).To(Succeed())
	for _, host := range hosts {
		federateNamespace(t, host, namespace, "local")
	}

	cs, err := lab.Cluster("local").Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	w, err := cs.CoreV1().ConfigMaps(namespace).Watch(t.Context(), metav1.ListOptions{LabelSelector: contract.ManagedLabel})
	g.Expect(err).NotTo(HaveOccurred())
	defer w.Stop()
	var mu sync.Mutex
	rewritten := map[string][]string{}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for ev := range w.ResultChan() {
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok || ev.Type != watch.Modified {
				continue
			}
			mu.Lock()
			rewritten[cm.Name] = append(rewritten[cm.Name], cm.Annotations[contract.ControlPlaneAnnotation]+":"+cm.Data["owner"])
			mu.Unlock()
		}
	}()

	var applies sync.WaitGroup
	for id, host := range hosts {
		applies.Go(func() {
			for i := range objects {
				framework.ApplyObject(t, host, framework.FederatedConfigMap(namespace, fmt.Sprintf("raced-%d", i), map[string]any{"owner": id}, "local"))
			}
		})
	}
	applies.Wait()

	owners := map[string]int{}
	for i := range objects {
		name := fmt.Sprintf("raced-%d", i)
		var owner string
		g.Eventually(func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(local.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, cm)).To(Succeed())
			owner = cm.Annotations[contract.ControlPlaneAnnotation]
			g.Expect(cm.Data).To(Equal(map[string]string{"owner": owner}), "the copy holds its writer's data")
			for id, host := range hosts {
				st, err := framework.FederatedStatus(t.Context(), host, federatedConfigMapGVK, namespace, name)
				g.Expect(err).NotTo(HaveOccurred())
				want := "local="
				if id != owner {
					want = "local=" + string(typesv1beta1.ManagedByAnotherControlPlane)
				}
				g.Expect(clusterStatuses(st)).To(Equal([]string{want}), "%s's status", id)
			}
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), name)
		owners[owner]++
	}
	w.Stop()
	<-watched
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d objects placed by both control planes: copies made by each %v; copies written again: %v", objects, owners, rewritten)
	g.Expect(rewritten).To(BeEmpty(), "no copy is written after it was made")
}
