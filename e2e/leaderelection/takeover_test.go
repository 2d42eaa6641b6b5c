package leaderelection_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// The takeover test's namespace, number of federated objects, and the number of member copies
// seen before the leader is killed.
const (
	haNamespace  = "ha"
	haObjects    = 500
	killAtCopies = 150
)

// haMember is a member of the takeover test: the lab cluster, reached through a counting proxy.
type haMember struct {
	cluster *framework.Cluster
	proxy   *framework.CountingProxy
	client  client.Client
}

// TestKilledLeaderHandsOverMidPropagation runs two fed-controllers with --leader-elect, and
// kills the leader with SIGKILL while 500 FederatedConfigMaps (some with per-cluster
// overrides) propagate to two members. The standby must take over once the Lease has expired,
// and not before; every copy must then have exactly its content, every federated object must
// be propagated, and the members must have seen one create per copy and, beyond that, only
// writes that changed nothing. Every write to the members goes through a counting proxy, so
// that the killed leader's last writes are counted too.
func TestKilledLeaderHandsOverMidPropagation(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	host := framework.InstallHost(t, lab.Host())
	hostCS, err := lab.Host().Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	members := registerThroughProxies(t, host, map[string]*framework.Cluster{"ha-m1": lab.Cluster("m1"), "ha-m2": lab.Cluster("m2")})
	framework.FederateNamespace(t, host, haNamespace, "ha-m1", "ha-m2")

	replicas := []*framework.Controller{
		framework.StartController(t, controllerBinary, lab.Host(), "ha-test", "--leader-elect"),
		framework.StartController(t, controllerBinary, lab.Host(), "ha-test", "--leader-elect"),
	}
	leader, standby, identity := waitForLeader(t, hostCS, replicas)
	// The standby stops cleanly at the end, so that a later test need not wait for its Lease.
	t.Cleanup(func() { _, _ = standby.Terminate(30 * time.Second) })
	// Cleanups run last first: the objects and their copies go while the standby still runs,
	// so that another run in the same lab starts from none.
	t.Cleanup(func() { removeAll(t, host) })
	waitReady(t, host, members)

	want := haPlan()
	started := time.Now()
	applied := make(chan error, 1)
	var appliedIn time.Duration
	go func() {
		err := applyAll(context.WithoutCancel(t.Context()), host, want)
		appliedIn = time.Since(started)
		applied <- err
	}()
	scraper := scrapeOften(leader, members)

	copiesAtKill := waitForCopies(t, members, killAtCopies)
	standbyEarly := writesThroughProxies(t, standby, members)
	killed := time.Now()
	g.Expect(syscall.Kill(leader.Pid(), syscall.SIGKILL)).To(Succeed())
	leader.Stop()
	leaderScraped := scraper.stop()
	tk := measureTakeover(t, hostCS, identity, killed)
	tk.firstWrite = firstStandbyWrite(members, killed)
	g.Expect(<-applied).To(Succeed(), "applying the federated objects")

	waitConverged(t, host, members, want)
	converged := time.Now()
	// A short quiet time, so that a late write would be seen.
	time.Sleep(3 * time.Second)
	figures := countWrites(t, members, killed, want)

	t.Logf("leader pid %d (%s) killed %v after the first apply, with %d of %d copies written; the %d objects were applied in %v",
		leader.Pid(), identity, killed.Sub(started).Round(time.Millisecond), copiesAtKill, 2*haObjects, haObjects, appliedIn.Round(time.Millisecond))
	t.Logf("takeover: last renewal %v before the kill; Lease acquired %v after the kill (%v after the last renewal, lease %v), seen %v after; the standby's first member write %v after the kill",
		killed.Sub(tk.lastRenew).Round(time.Millisecond), tk.acquired.Sub(killed).Round(time.Millisecond), tk.acquired.Sub(tk.lastRenew).Round(time.Millisecond),
		tk.lease, tk.seen.Round(time.Millisecond), tk.firstWrite.Round(time.Millisecond))
	t.Logf("converged %v after the kill, %v after the first apply", converged.Sub(killed).Round(time.Millisecond), converged.Sub(started).Round(time.Millisecond))
	for _, f := range figures {
		t.Logf("%s", f)
	}
	standbyLate := writesThroughProxies(t, standby, members)
	t.Logf("metrics: the leader's last scrape counted %.0f member writes (the proxies %d: %d unscraped); the standby counted %.0f before the kill and %.0f at the end (the proxies %d)",
		leaderScraped, sumLeader(figures), sumLeader(figures)-int(leaderScraped), standbyEarly, standbyLate, sumStandby(figures))

	g.Expect(copiesAtKill).To(BeNumerically("<", 2*haObjects), "the leader is killed before propagation ends")
	g.Expect(standbyEarly).To(BeZero(), "the standby wrote to no member before the kill")
	g.Expect(standbyLate).To(BeNumerically("==", sumStandby(figures)), "the standby's own count agrees with the proxies'")
	g.Expect(tk.acquired.Sub(tk.lastRenew)).To(BeNumerically(">=", tk.lease-50*time.Millisecond), "the standby waits for the Lease to expire")
	// The standby saw the last renewal at most one attempt after it was made, and the Lease
	// expires a lease duration after that sighting; it acquires at the next attempt: two
	// attempts and a lease duration after the kill at most, plus a second for a loaded machine.
	retry := retryMax(t, host)
	g.Expect(tk.acquired.Sub(killed)).To(BeNumerically("<", tk.lease+2*retry+time.Second), "time from the kill to the standby holding the Lease")
	// Once it leads, the standby connects to the members and fills its caches of them first.
	g.Expect(tk.firstWrite).To(BeNumerically("<", tk.lease+2*retry+10*time.Second), "time from the kill to the standby's first member write")
	for _, f := range figures {
		g.Expect(f.creates).To(Equal(haObjects), "copies created in %s", f.member)
		g.Expect(f.createdTwice).To(BeEmpty(), "copies created twice in %s", f.member)
		g.Expect(f.changed).To(BeEmpty(), "copies written again with other content in %s", f.member)
		g.Expect(f.deletes).To(BeZero(), "copies deleted in %s", f.member)
	}
}

// registerThroughProxies registers each lab member under its name in clusters, reached
// through a counting proxy, and removes the registrations when the test ends.
func registerThroughProxies(t *testing.T, host client.Client, clusters map[string]*framework.Cluster) map[string]*haMember {
	t.Helper()
	out := map[string]*haMember{}
	for name, c := range clusters {
		p := framework.StartCountingProxy(t, c)
		if err := framework.RegisterEndpoint(t.Context(), host, name, p.Endpoint, p.CA, c.Token()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = framework.Unregister(context.Background(), host, name) })
		out[name] = &haMember{cluster: c, proxy: p, client: framework.MemberClient(t, c)}
	}
	return out
}

// waitForLeader waits until one replica leads and holds the Lease, and returns it, the other
// replica and the leader's identity in the Lease.
func waitForLeader(t *testing.T, cs kubernetes.Interface, replicas []*framework.Controller) (leader, standby *framework.Controller, identity string) {
	t.Helper()
	leading := func(c *framework.Controller) bool {
		v, err := c.ReadMetric("leader_election_master_status", map[string]string{"name": leaseName})
		return err == nil && v == 1
	}
	NewWithT(t).Eventually(func() bool {
		leader, standby, identity = nil, nil, ""
		for i, c := range replicas {
			if leading(c) {
				leader, standby = c, replicas[1-i]
			}
		}
		if leader == nil || leading(standby) {
			return false
		}
		// The Lease names the leader's identity while the leader says it leads, and after.
		lease, err := cs.CoordinationV1().Leases(corev1beta1.DefaultNamespace).Get(t.Context(), leaseName, metav1.GetOptions{})
		if err != nil {
			return false
		}
		identity = ptr.Deref(lease.Spec.HolderIdentity, "")
		return identity != "" && leading(leader)
	}).WithTimeout(45*time.Second).WithPolling(200*time.Millisecond).Should(BeTrue(), "one replica leads")
	t.Logf("replica pid %d leads as %q; pid %d stands by", leader.Pid(), identity, standby.Pid())
	return leader, standby, identity
}

// waitReady waits until the leader finds every member Ready.
func waitReady(t *testing.T, host client.Client, members map[string]*haMember) {
	t.Helper()
	for name := range members {
		NewWithT(t).Eventually(func() bool {
			kfc := &corev1beta1.KubeFedCluster{}
			_ = host.Get(t.Context(), client.ObjectKey{Namespace: corev1beta1.DefaultNamespace, Name: name}, kfc)
			return cluster.IsReady(kfc.Status)
		}).WithTimeout(30*time.Second).Should(BeTrue(), "member %s is Ready", name)
	}
}

// haObject is one federated object of the plan and what each member must receive.
type haObject struct {
	name      string
	data      map[string]string
	overrides map[string][]any
	want      map[string]map[string]string
}

// haPlan returns the federated objects, each with its own content; every fifth has an
// override that replaces a value in ha-m2, and every fifth (another one) an override that adds
// a key in ha-m1.
func haPlan() []haObject {
	out := make([]haObject, 0, haObjects)
	for i := range haObjects {
		o := haObject{
			name:      fmt.Sprintf("cm-%03d", i),
			data:      map[string]string{"v": fmt.Sprintf("value-%03d-%x", i, i*7919), "i": fmt.Sprint(i)},
			overrides: map[string][]any{},
			want:      map[string]map[string]string{},
		}
		for _, m := range []string{"ha-m1", "ha-m2"} {
			o.want[m] = map[string]string{"v": o.data["v"], "i": o.data["i"]}
		}
		switch i % 5 {
		case 0:
			v := fmt.Sprintf("m2-only-%03d", i)
			o.overrides["ha-m2"] = []any{map[string]any{"path": "/data/v", "value": v}}
			o.want["ha-m2"]["v"] = v
		case 1:
			v := fmt.Sprintf("m1-extra-%03d", i)
			o.overrides["ha-m1"] = []any{map[string]any{"op": "add", "path": "/data/extra", "value": v}}
			o.want["ha-m1"]["extra"] = v
		}
		out = append(out, o)
	}
	return out
}

// federated builds the FederatedConfigMap of o, placed on both members.
func (o haObject) federated() *unstructured.Unstructured {
	data := map[string]any{}
	for k, v := range o.data {
		data[k] = v
	}
	fed := framework.FederatedConfigMap(haNamespace, o.name, data, "ha-m1", "ha-m2")
	var overrides []any
	for _, m := range []string{"ha-m1", "ha-m2"} {
		if ops, ok := o.overrides[m]; ok {
			overrides = append(overrides, map[string]any{"clusterName": m, "clusterOverrides": ops})
		}
	}
	if overrides != nil {
		_ = unstructured.SetNestedSlice(fed.Object, overrides, "spec", "overrides")
	}
	return fed
}

// applyAll applies the federated objects with eight writers.
func applyAll(ctx context.Context, host client.Client, objects []haObject) error {
	work := make(chan haObject)
	errs := make(chan error, len(objects))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for o := range work {
				if err := host.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.federated()), client.FieldOwner("e2e"), client.ForceOwnership); err != nil {
					errs <- fmt.Errorf("failed to apply %s: %w", o.name, err)
				}
			}
		})
	}
	for _, o := range objects {
		work <- o
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

// copyPath is the path prefix of the test's ConfigMaps in a member's API.
const copyPath = "/api/v1/namespaces/" + haNamespace + "/configmaps/"

// copiesCreated counts the copies the members answered a create for.
func copiesCreated(members map[string]*haMember) int {
	n := 0
	for _, m := range members {
		for _, w := range m.proxy.Writes() {
			if strings.HasPrefix(w.Object, copyPath) && w.Status == 201 {
				n++
			}
		}
	}
	return n
}

// waitForCopies waits until the members hold at least n copies, and returns how many they hold.
func waitForCopies(t *testing.T, members map[string]*haMember, n int) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if got := copiesCreated(members); got >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the members do not hold %d copies after a minute", n)
	return 0
}

// writesThroughProxies reads a controller's own count of its writes to the members.
func writesThroughProxies(t *testing.T, c *framework.Controller, members map[string]*haMember) float64 {
	t.Helper()
	v, err := readWrites(c, members)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// readWrites sums client-go's count of requests other than GET that c sent to the members'
// proxies.
func readWrites(c *framework.Controller, members map[string]*haMember) (float64, error) {
	var sum float64
	for _, m := range members {
		for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			v, err := c.ReadMetric("rest_client_requests_total", map[string]string{"host": strings.TrimPrefix(m.proxy.Endpoint, "https://"), "method": method})
			if err != nil {
				return 0, err
			}
			sum += v
		}
	}
	return sum, nil
}

// scraper reads a controller's count of member writes every 50 ms until stopped.
type scraper struct {
	done chan struct{}
	last chan float64
}

func scrapeOften(c *framework.Controller, members map[string]*haMember) *scraper {
	s := &scraper{done: make(chan struct{}), last: make(chan float64, 1)}
	go func() {
		var last float64
		for {
			if v, err := readWrites(c, members); err == nil {
				last = v
			}
			select {
			case <-s.done:
				s.last <- last
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return s
}

// stop stops the scraper and returns the last count it read.
func (s *scraper) stop() float64 {
	close(s.done)
	return <-s.last
}

// takeover is what the Lease tells of the handover.
type takeover struct {
	lease      time.Duration
	lastRenew  time.Time     // the killed leader's last renewal
	acquired   time.Time     // when the standby acquired the Lease, by its record
	seen       time.Duration // from the kill to the test seeing the standby's identity
	firstWrite time.Duration // from the kill to the standby's first member write
}

// measureTakeover polls the Lease until another replica than old holds it.
func measureTakeover(t *testing.T, cs kubernetes.Interface, old string, killed time.Time) takeover {
	t.Helper()
	var tk takeover
	for time.Since(killed) < time.Minute {
		lease, err := cs.CoordinationV1().Leases(corev1beta1.DefaultNamespace).Get(t.Context(), leaseName, metav1.GetOptions{})
		if err == nil {
			holder := ptr.Deref(lease.Spec.HolderIdentity, "")
			tk.lease = time.Duration(ptr.Deref(lease.Spec.LeaseDurationSeconds, 0)) * time.Second
			switch {
			case holder == old && lease.Spec.RenewTime != nil:
				tk.lastRenew = lease.Spec.RenewTime.Time
			case holder != "" && holder != old && lease.Spec.AcquireTime != nil:
				tk.seen, tk.acquired = time.Since(killed), lease.Spec.AcquireTime.Time
				t.Logf("the Lease is held by %q (%d transitions)", holder, ptr.Deref(lease.Spec.LeaseTransitions, 0))
				return tk
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no other replica holds the Lease a minute after the kill")
	return tk
}

// firstStandbyWrite is the time from the kill to the first write the members received from a
// connection opened after it; 0 when there is none.
func firstStandbyWrite(members map[string]*haMember, killed time.Time) time.Duration {
	var first time.Duration
	deadline := time.Now().Add(30 * time.Second)
	for first == 0 && time.Now().Before(deadline) {
		for _, m := range members {
			old := m.proxy.ConnsOpenedBefore(killed)
			for _, w := range m.proxy.Writes() {
				if d := w.Received.Sub(killed); !old[w.Conn] && (first == 0 || d < first) {
					first = d
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return first
}

// waitConverged waits until every member holds exactly the copies it should, and every
// federated object is propagated to both members.
func waitConverged(t *testing.T, host client.Client, members map[string]*haMember, want []haObject) {
	t.Helper()
	g := NewWithT(t)
	for name, m := range members {
		expected := map[string]map[string]string{}
		for _, o := range want {
			expected[o.name] = o.want[name]
		}
		g.Eventually(func(g Gomega) {
			list := &corev1.ConfigMapList{}
			g.Expect(m.client.List(t.Context(), list, client.InNamespace(haNamespace), client.MatchingLabels{contract.ManagedLabel: contract.ManagedLabelValue})).To(Succeed())
			got := map[string]map[string]string{}
			for _, cm := range list.Items {
				got[cm.Name] = cm.Data
			}
			g.Expect(got).To(Equal(expected))
		}).WithTimeout(90*time.Second).WithPolling(500*time.Millisecond).Should(Succeed(), "the copies in %s", name)
	}
	g.Eventually(func(g Gomega) {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(typesv1beta1.GroupVersion.WithKind("FederatedConfigMapList"))
		g.Expect(host.List(t.Context(), list, client.InNamespace(haNamespace))).To(Succeed())
		g.Expect(list.Items).To(HaveLen(len(want)))
		for _, o := range list.Items {
			g.Expect(propagationOf(o)).To(Equal("True/ 2"), "the status of %s", o.GetName())
		}
	}).WithTimeout(30*time.Second).WithPolling(500*time.Millisecond).Should(Succeed(), "every federated object is propagated")
}

// removeAll deletes the test's federated objects and waits until they are gone, and so their
// copies with them.
func removeAll(t *testing.T, host client.Client) {
	t.Helper()
	ctx := context.Background()
	gvk := typesv1beta1.GroupVersion.WithKind("FederatedConfigMap")
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	if err := host.DeleteAllOf(ctx, obj, client.InNamespace(haNamespace)); err != nil {
		t.Errorf("failed to delete the federated objects: %v", err)
		return
	}
	NewWithT(t).Eventually(func() ([]unstructured.Unstructured, error) {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind("FederatedConfigMapList"))
		err := host.List(ctx, list, client.InNamespace(haNamespace))
		return list.Items, err
	}).WithTimeout(2*time.Minute).WithPolling(time.Second).Should(BeEmpty(), "the federated objects are gone")
}

// propagationOf tells a federated object's Propagation condition and the number of clusters
// in its status whose copy is as it should be, as "True/ 2".
func propagationOf(o unstructured.Unstructured) string {
	var st typesv1beta1.FederatedStatus
	if raw, ok := o.Object["status"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &st)
	}
	ok := 0
	for _, c := range st.Clusters {
		if c.Status == typesv1beta1.ClusterPropagationOK {
			ok++
		}
	}
	return fmt.Sprintf("%s %d", framework.Propagation(st), ok)
}

// memberFigures are the writes one member received.
type memberFigures struct {
	member                  string
	leader, standby         int // every write, by the replica that sent it
	inFlight                int // writes the leader sent before the kill and that were answered after it
	creates, noops, deletes int // writes of the test's copies
	unanswered              int
	failed                  map[int]int // by status code
	createdTwice, changed   []string
}

func (f memberFigures) String() string {
	return fmt.Sprintf("%s: %d writes (leader %d, %d of them answered after the kill; standby %d); copies: %d creates, %d re-applies that changed nothing, %d changed, %d created twice, %d deletes, failed by status %v, %d unanswered",
		f.member, f.leader+f.standby, f.leader, f.inFlight, f.standby, f.creates, f.noops, len(f.changed), len(f.createdTwice), f.deletes, f.failed, f.unanswered)
}

func sumLeader(fs []memberFigures) (n int) {
	for _, f := range fs {
		n += f.leader
	}
	return n
}

func sumStandby(fs []memberFigures) (n int) {
	for _, f := range fs {
		n += f.standby
	}
	return n
}

// countWrites sorts the writes each member received: by replica (a connection opened
// before the kill is the leader's), and, for the copies, into creates, writes that left the
// copy as its create made it (same resourceVersion), and writes that changed it. A copy whose
// resourceVersion now differs from the one its create answered counts as changed too.
func countWrites(t *testing.T, members map[string]*haMember, killed time.Time, want []haObject) []memberFigures {
	t.Helper()
	var out []memberFigures
	for _, name := range []string{"ha-m1", "ha-m2"} {
		m := members[name]
		f := memberFigures{member: name, failed: map[int]int{}}
		old := m.proxy.ConnsOpenedBefore(killed)
		writes := m.proxy.Writes()
		created := map[string]string{}
		for _, w := range writes {
			if old[w.Conn] {
				f.leader++
				if w.Status == 0 || w.Answered.After(killed) {
					f.inFlight++
				}
			} else {
				f.standby++
			}
			copyName, ok := strings.CutPrefix(w.Object, copyPath)
			if !ok {
				continue
			}
			switch {
			case w.Method == "DELETE":
				f.deletes++
			case w.Status == 201:
				if _, twice := created[copyName]; twice {
					f.createdTwice = append(f.createdTwice, copyName)
				}
				created[copyName] = w.ResourceVersion
				f.creates++
			}
		}
		for _, w := range writes {
			copyName, ok := strings.CutPrefix(w.Object, copyPath)
			switch {
			case !ok || w.Method == "DELETE" || w.Status == 201:
			case w.Status == 0:
				f.unanswered++
			case w.Status >= 300:
				f.failed[w.Status]++
				t.Logf("%s: %s %s answered %d %v after the kill", name, w.Method, copyName, w.Status, w.Received.Sub(killed).Round(time.Millisecond))
			case w.ResourceVersion == created[copyName]:
				f.noops++
			default:
				f.changed = append(f.changed, copyName)
			}
		}
		f.changed = append(f.changed, changedSinceCreate(t, m.client, want, created)...)
		out = append(out, f)
	}
	return out
}

// changedSinceCreate returns the copies whose resourceVersion is not the one their create
// answered.
func changedSinceCreate(t *testing.T, member client.Client, want []haObject, created map[string]string) []string {
	t.Helper()
	var changed []string
	for _, o := range want {
		cm := &corev1.ConfigMap{}
		err := member.Get(t.Context(), client.ObjectKey{Namespace: haNamespace, Name: o.name}, cm)
		if apierrors.IsNotFound(err) || (err == nil && cm.ResourceVersion != created[o.name]) {
			changed = append(changed, o.name)
		} else if err != nil {
			t.Fatal(err)
		}
	}
	return changed
}
