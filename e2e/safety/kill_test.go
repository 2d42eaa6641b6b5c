package safety_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	"github.com/fedplane/fedplane/e2e/framework"
)

// chaosObject is what the host says of one federated object at the end.
type chaosObject struct {
	clusters []string
	data     string
	deleted  bool
}

// killAndRestart runs fed-controller, and kills it with SIGKILL kills times at random moments
// (0.5 to 2.5 s after each start, so that the kills spread over the whole propagation), starting
// it again each time; it sends the controller left running on done.
func killAndRestart(t *testing.T, kills int, rng *rand.Rand, done chan<- *framework.Controller) {
	start := func() *framework.Controller {
		c, err := framework.LaunchController(controllerBinary, lab.Host(), t.TempDir(), controlPlaneID, "--member-timeout", "2s")
		if err != nil {
			t.Error(err)
			return nil
		}
		return c
	}
	c := start()
	for i := 0; i < kills && c != nil; i++ {
		time.Sleep(time.Duration(500+rng.IntN(2000)) * time.Millisecond)
		if err := syscall.Kill(c.Pid(), syscall.SIGKILL); err != nil {
			t.Errorf("kill %d: %v", i+1, err)
		}
		c.Stop()
		c = start()
	}
	done <- c
}

// TestKilledMidwayTheMembersConverge is the kill -9 test: while 300 federated ConfigMaps are
// created, updated, moved and deleted, fed-controller is killed with SIGKILL 10 times at random
// moments and started again. At the end every member holds exactly what the host says, the
// objects of others are all still there, and every deleted federated object is gone.
func TestKilledMidwayTheMembersConverge(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	host := framework.InstallHost(t, lab.Host())
	members := map[string]client.Client{"local": framework.MemberClient(t, lab.Cluster("local")), "cce": framework.MemberClient(t, lab.Cluster("cce"))}
	ensureRegistered(t, host, "local", "cce")
	const namespace = "chaos"
	framework.FederateNamespace(t, host, namespace, "local", "cce")
	// Objects of others in the members, which nothing may touch.
	for name, mc := range members {
		g.Eventually(func() error {
			return mc.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})
		}).WithTimeout(wait).Should(Or(Succeed(), MatchError(ContainSubstring("already exists"))))
		for i := range 20 {
			g.Expect(mc.Create(t.Context(), &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fmt.Sprintf("user-%d", i)},
				Data:       map[string]string{"owner": "user-" + name},
			})).To(Succeed())
		}
	}

	// Fixed seeds: the same plan on every run.
	rng := rand.New(rand.NewPCG(7, 13)) //nolint:gosec // A test's plan, not a secret.
	placements := [][]string{{"local"}, {"cce"}, {"local", "cce"}}
	want := map[string]*chaosObject{}
	apply := func(name string, o *chaosObject) {
		framework.ApplyObject(t, host, framework.FederatedConfigMap(namespace, name, map[string]any{"v": o.data}, o.clusters...))
	}
	done := make(chan *framework.Controller, 1)
	var wg sync.WaitGroup
	wg.Go(func() { killAndRestart(t, 10, rand.New(rand.NewPCG(3, 5)), done) }) //nolint:gosec // A test's plan, not a secret.
	started := time.Now()
	const n = 300
	for i := range n {
		name := fmt.Sprintf("obj-%03d", i)
		o := &chaosObject{clusters: placements[i%3], data: "v1"}
		want[name] = o
		apply(name, o)
		if i%3 == 2 {
			// Every third step changes or deletes an earlier object.
			victim := fmt.Sprintf("obj-%03d", rng.IntN(i))
			v := want[victim]
			switch {
			case v.deleted:
			case rng.IntN(3) == 0:
				v.deleted = true
				fed := framework.FederatedConfigMap(namespace, victim, nil)
				g.Expect(client.IgnoreNotFound(host.Delete(t.Context(), fed))).To(Succeed())
			default:
				v.data = fmt.Sprintf("v%d", i)
				v.clusters = placements[rng.IntN(3)]
				apply(victim, v)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("applied %d objects with their updates and deletes in %v", n, time.Since(started).Round(time.Millisecond))
	wg.Wait()
	last := <-done
	lastStart := time.Now()
	if last != nil {
		lastStart = last.Started()
	}
	if last == nil {
		t.Fatal("fed-controller could not be started again")
	}
	t.Cleanup(last.Stop)
	t.Logf("fed-controller was killed 10 times while they were applied; the last start was %v after the first apply", lastStart.Sub(started).Round(time.Millisecond))

	expected := func(cluster string) map[string]string {
		out := map[string]string{}
		for name, o := range want {
			if o.deleted {
				continue
			}
			for _, c := range o.clusters {
				if c == cluster {
					out[name] = o.data
				}
			}
		}
		return out
	}
	converged := time.Now()
	for cluster, mc := range members {
		g.Eventually(func(g Gomega) {
			list := &corev1.ConfigMapList{}
			g.Expect(mc.List(t.Context(), list, client.InNamespace(namespace))).To(Succeed())
			got, users := map[string]string{}, 0
			for _, cm := range list.Items {
				switch {
				case strings.HasPrefix(cm.Name, "user-"):
					g.Expect(cm.Data).To(Equal(map[string]string{"owner": "user-" + cluster}))
					g.Expect(cm.Labels).NotTo(HaveKey(contract.ManagedLabel))
					users++
				case strings.HasPrefix(cm.Name, "obj-"):
					if cm.DeletionTimestamp == nil {
						got[cm.Name] = cm.Data["v"]
					}
				}
			}
			g.Expect(users).To(Equal(20), "the user's objects in %s", cluster)
			g.Expect(got).To(Equal(expected(cluster)), "the copies in %s", cluster)
		}).WithTimeout(2*time.Minute).WithPolling(500*time.Millisecond).Should(Succeed(), "cluster %s", cluster)
	}
	// Every deleted federated object is gone (its finalizer removed), every other one is there.
	g.Eventually(func(g Gomega) {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(federatedConfigMapGVK.GroupVersion().WithKind("FederatedConfigMapList"))
		g.Expect(host.List(t.Context(), list, client.InNamespace(namespace))).To(Succeed())
		var got, wantNames []string
		for _, o := range list.Items {
			got = append(got, o.GetName())
		}
		for name, o := range want {
			if !o.deleted {
				wantNames = append(wantNames, name)
			}
		}
		sort.Strings(got)
		sort.Strings(wantNames)
		g.Expect(got).To(Equal(wantNames))
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	deleted := 0
	for _, o := range want {
		if o.deleted {
			deleted++
		}
	}
	t.Logf("members and host converged %v after the last start (%v after the last apply): %d objects, %d deleted, copies local=%d cce=%d",
		time.Since(lastStart).Round(time.Millisecond), time.Since(converged).Round(time.Millisecond), n, deleted, len(expected("local")), len(expected("cce")))
}
