package safety_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// TestADeleteRightAfterACreateRemovesTheCopy is the race that the kill -9 test once met: a
// federated object deleted a moment after its copy was created, while the member's watch (and
// so the controller's cache of it) had not shown that copy yet. The member is reached through
// a proxy that hands out its watch events 4 s late. The copy must still be deleted with its
// federated object, not left behind (and later released as a stray) because the cache did not
// know of it.
func TestADeleteRightAfterACreateRemovesTheCopy(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	host := framework.InstallHost(t, lab.Host())
	member := lab.Cluster("cce")
	mc := framework.MemberClient(t, member)
	const name, namespace, lag = "cce-lagging", "lagging", 4 * time.Second
	endpoint, ca := framework.WatchLagProxy(t, member, lag)
	g.Expect(framework.RegisterEndpoint(t.Context(), host, name, endpoint, ca, member.Token())).To(Succeed())
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

	for i := range 3 {
		cmName := fmt.Sprintf("short-lived-%d", i)
		framework.ApplyObject(t, host, framework.FederatedConfigMap(namespace, cmName, map[string]any{"v": "1"}, name))
		key := client.ObjectKey{Namespace: namespace, Name: cmName}
		g.Eventually(func() error {
			return mc.Get(t.Context(), key, &corev1.ConfigMap{})
		}).WithTimeout(wait).WithPolling(20*time.Millisecond).Should(Succeed(), "the copy of %s is created", cmName)
		// The copy exists; the controller's cache learns of it only lag later.
		g.Expect(host.Delete(t.Context(), framework.FederatedConfigMap(namespace, cmName, nil))).To(Succeed())
		deleted := time.Now()
		g.Eventually(func() bool {
			err := mc.Get(t.Context(), key, &corev1.ConfigMap{})
			return apierrors.IsNotFound(err)
		}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "the copy of %s is deleted with it", cmName)
		g.Eventually(func() bool {
			err := host.Get(t.Context(), key, framework.FederatedConfigMap(namespace, cmName, nil))
			return apierrors.IsNotFound(err)
		}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "the FederatedConfigMap %s is gone", cmName)
		t.Logf("%s: copy and federated object gone %v after the delete, with the member's watch %v late", cmName, time.Since(deleted).Round(time.Millisecond), lag)
	}
}
