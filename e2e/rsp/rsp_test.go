package rsp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/internal/testfixtures"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/manifests"
	"github.com/fedplane/fedplane/pkg/rsp"
)

var (
	lab              *framework.Lab
	controllerBinary string
)

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithLabAndController(m, framework.Options{Members: []string{"local", "cce"}}, &lab, &controllerBinary))
}

const (
	wait     = 30 * time.Second
	poll     = 100 * time.Millisecond
	testNS   = "test-namespace"
	kfcNS    = corev1beta1.DefaultNamespace
	seedRSPs = "rsp-capped rsp-even rsp-minmax rsp-star"
)

var (
	deploymentGVK   = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	fedDeploymetGVK = schema.GroupVersionKind{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedDeployment"}
)

// split is replicas per cluster.
type split map[string]int64

// TestReplicaScheduling runs fed-controller with members local and cce and follows the seed's
// ReplicaSchedulingPreferences through a cluster failure and its recovery, then a cluster
// out of room, then a change of the total.
func TestReplicaScheduling(t *testing.T) {
	framework.Require(t, lab)
	fed := framework.StartFederation(t, lab, controllerBinary, "fedplane-rsp", "local", "cce")
	host, members, ctrl := fed.Host, fed.Members, fed.Controller
	local, cce := lab.Cluster("local"), lab.Cluster("cce")

	expectedReady, expectedCCEDown := readExpected(t)
	uids := map[string]types.UID{}

	t.Run("the seed preferences give exactly expected/03-rsp.yaml", func(t *testing.T) {
		g := NewWithT(t)
		started := time.Now()
		for _, file := range []string{"01-federatednamespace.yaml", "03-replicaschedulingpreferences.yaml"} {
			docs, err := manifests.Load(testfixtures.Path(t, "seed", "manifests", file))
			g.Expect(err).NotTo(HaveOccurred())
			for _, d := range docs {
				framework.ApplyObject(t, host, d.Object)
			}
		}
		for name, want := range expectedReady {
			g.Eventually(func() (split, error) { return memberReplicas(t.Context(), members, name) }).
				WithTimeout(wait).WithPolling(poll).Should(Equal(want), "%s", name)
		}
		t.Logf("member Deployments match expected/03-rsp.yaml %v after applying", time.Since(started).Round(time.Millisecond))
		for name, want := range expectedReady {
			g.Eventually(func(g Gomega) {
				p := getRSP(t, host, name)
				g.Expect(plannedCondition(p)).To(Equal("True/" + rsp.ReasonApplied))
				g.Expect(statusSplit(p)).To(Equal(want))
				g.Expect(p.Status.ScheduledReplicas).To(Equal(p.Spec.TotalReplicas))
				g.Expect(p.Status.ReadyReplicas).To(Equal(p.Spec.TotalReplicas), "every pod runs on the kwok nodes")
			}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), "%s status", name)
		}
		// Once every pod is ready, the split is still the expected one: replanning while the
		// replicas roll out does not drift.
		for name, want := range expectedReady {
			g.Expect(memberReplicas(t.Context(), members, name)).To(Equal(want), "%s after the rollout", name)
		}
		for _, name := range strings.Fields(seedRSPs) {
			d, err := framework.GetObject(t.Context(), members["cce"], deploymentGVK, testNS, name)
			g.Expect(err).NotTo(HaveOccurred())
			uids[name] = d.GetUID()
		}
	})

	// A user's own override on a target, which every RSP write must keep.
	userOverride := map[string]any{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.26"}
	t.Run("a user override on the target is applied alongside the replicas", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(func() error {
			fd, err := framework.GetObject(t.Context(), host, fedDeploymetGVK, testNS, "rsp-even")
			if err != nil {
				return err
			}
			overrides, _, _ := unstructured.NestedSlice(fd.Object, "spec", "overrides")
			for i, o := range overrides {
				if o.(map[string]any)["clusterName"] == "cce" {
					co := o.(map[string]any)
					ops, _ := co["clusterOverrides"].([]any)
					co["clusterOverrides"] = append(ops, userOverride)
					overrides[i] = co
				}
			}
			if err := unstructured.SetNestedSlice(fd.Object, overrides, "spec", "overrides"); err != nil {
				return err
			}
			return host.Update(t.Context(), fd)
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		g.Eventually(func() (string, error) { return image(t.Context(), members["cce"], "rsp-even") }).
			WithTimeout(wait).WithPolling(poll).Should(Equal("nginx:1.26"))
		expectUserOverride(t, host)
	})

	// The seed's preferences leave rebalance unset (false); failback needs it on. A subtest, so
	// that the subtests of other namespaces can run alone.
	t.Run("the seed preferences rebalance", func(t *testing.T) {
		for _, name := range strings.Fields(seedRSPs) {
			patchRSP(t, host, name, map[string]any{"rebalance": true})
		}
	})

	t.Run("SIGSTOP cce: replicas move to local as expected/03-rsp.yaml says, and nothing in cce is deleted", func(t *testing.T) {
		g := NewWithT(t)
		failoverBefore := ctrl.Metric(t, "fedplane_rsp_failover_replicas_total", map[string]string{"cluster": "cce"})
		stopped := time.Now()
		g.Expect(cce.StopAPIServer()).To(Succeed())
		resumed := false
		t.Cleanup(func() {
			if !resumed {
				_ = cce.ContinueAPIServer()
			}
		})
		var detected time.Duration
		g.Eventually(func() bool {
			if !ready(t, host, "cce") {
				detected = time.Since(stopped)
				return true
			}
			return false
		}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "cce not Ready")
		for name, want := range expectedCCEDown {
			g.Eventually(func() (int64, error) { return replicas(t.Context(), members["local"], name) }).
				WithTimeout(wait).WithPolling(poll).Should(Equal(want), "%s on local", name)
		}
		moved := time.Since(stopped)
		t.Logf("cce not Ready %v after SIGSTOP (health detection); replicas on local %v after SIGSTOP (bound %v)",
			detected.Round(time.Millisecond), moved.Round(time.Millisecond), (detected + 15*time.Second).Round(time.Millisecond))
		g.Expect(moved).To(BeNumerically("<=", detected+15*time.Second))

		for name := range expectedCCEDown {
			g.Eventually(func(g Gomega) {
				p := getRSP(t, host, name)
				g.Expect(statusSplit(p)).To(Equal(split{"local": expectedCCEDown[name]}), name)
				g.Expect(plannedCondition(p)).To(Equal("True/" + rsp.ReasonApplied))
				g.Expect(meta(p).Message).To(ContainSubstring("not Ready, kept as they are: cce"))
			}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
			fd, err := framework.GetObject(t.Context(), host, fedDeploymetGVK, testNS, name)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(placed(fd)).To(Equal([]string{"cce", "local"}), "cce keeps its place while away: %s", name)
		}
		// DESIRED counts what the plan asks of the Ready clusters now; cce's copies, which are
		// left as they are while it is away, are counted apart as stale.
		for name, want := range expectedCCEDown {
			g.Eventually(func() (replicaStatus, error) { return federatedReplicas(t.Context(), host, name) }).
				WithTimeout(wait).WithPolling(poll).Should(Equal(replicaStatus{Desired: want, Ready: want, Stale: expectedReady[name]["cce"]}), "%s status", name)
		}
		g.Expect(expectedCCEDown["rsp-even"]).To(Equal(int64(getRSP(t, host, "rsp-even").Spec.TotalReplicas)), "rsp-even fits in local alone")
		table := kubectlGetFederatedDeployment(t, lab.Host(), "rsp-even")
		t.Logf("kubectl get federateddeployment rsp-even with cce down:\n%s", table)
		g.Expect(table).To(MatchRegexp(`(?m)^NAME +DESIRED +READY +STALE +PROPAGATED +REASON +AGE\b`))
		g.Expect(table).To(MatchRegexp(`(?m)^rsp-even +8 +8 +4 +False +CheckClusters\b`))
		// The status and the metric follow the target's write, which the members may see first.
		g.Eventually(func() float64 {
			return ctrl.Metric(t, "fedplane_rsp_failover_replicas_total", map[string]string{"cluster": "cce"}) - failoverBefore
		}).WithTimeout(wait).WithPolling(poll).Should(BeNumerically("==", 4+4+5+30), "replicas moved by failover")
		g.Eventually(func() bool { return hasEvent(t, host, "rsp-even", rsp.EventFailover) }).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "a Failover event on rsp-even")
		expectUserOverride(t, host)

		resumed = true
		continued := time.Now()
		g.Expect(cce.ContinueAPIServer()).To(Succeed())
		for name, want := range expectedReady {
			g.Eventually(func() (split, error) { return memberReplicas(t.Context(), members, name) }).
				WithTimeout(wait).WithPolling(poll).Should(Equal(want), "%s back to the Ready split", name)
		}
		t.Logf("the Ready split is back %v after SIGCONT", time.Since(continued).Round(time.Millisecond))
		for name, want := range expectedReady {
			total := want["local"] + want["cce"]
			g.Eventually(func() (replicaStatus, error) { return federatedReplicas(t.Context(), host, name) }).
				WithTimeout(wait).WithPolling(poll).Should(Equal(replicaStatus{Desired: total, Ready: total, Stale: -1}), "%s status, nothing stale", name)
		}
		for _, name := range strings.Fields(seedRSPs) {
			d, err := framework.GetObject(t.Context(), members["cce"], deploymentGVK, testNS, name)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(d).NotTo(BeNil())
			g.Expect(d.GetUID()).To(Equal(uids[name]), "cce's %s was never deleted", name)
		}
		g.Eventually(func() bool { return hasEvent(t, host, "rsp-even", rsp.EventFailback) }).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "a Failback event on rsp-even")
		g.Eventually(func() (string, error) { return image(t.Context(), members["cce"], "rsp-even") }).
			WithTimeout(wait).WithPolling(poll).Should(Equal("nginx:1.26"))
		expectUserOverride(t, host)
	})

	t.Run("changing totalReplicas rescales with one write of the target", func(t *testing.T) {
		g := NewWithT(t)
		fd, err := framework.GetObject(t.Context(), host, fedDeploymetGVK, testNS, "rsp-even")
		g.Expect(err).NotTo(HaveOccurred())
		generation := fd.GetGeneration()
		started := time.Now()
		patchRSP(t, host, "rsp-even", map[string]any{"totalReplicas": 12})
		g.Eventually(func() (split, error) { return memberReplicas(t.Context(), members, "rsp-even") }).
			WithTimeout(wait).WithPolling(poll).Should(Equal(split{"local": 6, "cce": 6}))
		t.Logf("rescaled 8 → 12 in the members %v after the change", time.Since(started).Round(time.Millisecond))
		g.Consistently(func() (int64, error) {
			fd, err := framework.GetObject(t.Context(), host, fedDeploymetGVK, testNS, "rsp-even")
			if err != nil {
				return 0, err
			}
			return fd.GetGeneration(), nil
		}).WithTimeout(2*time.Second).WithPolling(poll).Should(Equal(generation+1), "one write of the target")
		g.Eventually(func() bool { return hasEvent(t, host, "rsp-even", rsp.EventRescaled) }).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "a Rescaled event on rsp-even")
		expectUserOverride(t, host)
		g.Expect(image(t.Context(), members["cce"], "rsp-even")).To(Equal("nginx:1.26"))
	})

	t.Run("capacity: what cce cannot schedule runs on local, and kubectl get rsp shows where", func(t *testing.T) {
		g := NewWithT(t)
		pool := map[string]string{"lab.fedplane.io/pool": "rsp"}
		g.Expect(cce.AddFakeNode(t.Context(), "cce-rsp", 5, pool)).To(Succeed())
		g.Expect(local.AddFakeNode(t.Context(), "local-rsp", 50, pool)).To(Succeed())
		// Pods that the preference's selector must not count: same app label, another tier,
		// and never schedulable. A selector that ignored matchExpressions would count them.
		decoy := deployment("rsp-capacity-decoy", 3, "db", map[string]string{"lab.fedplane.io/pool": "none"})
		g.Expect(members["cce"].Create(t.Context(), decoy)).To(Succeed())
		started := time.Now()
		framework.ApplyObject(t, host, federatedDeployment("rsp-capacity", pool))
		framework.ApplyObject(t, host, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "scheduling.kubefed.io/v1alpha1", "kind": "ReplicaSchedulingPreference",
			"metadata": map[string]any{"name": "rsp-capacity", "namespace": testNS},
			"spec": map[string]any{"targetKind": "FederatedDeployment", "totalReplicas": int64(12), "rebalance": true,
				"clusters": map[string]any{"*": map[string]any{"weight": int64(1)}}},
		}})
		g.Eventually(func() (split, error) { return memberReplicas(t.Context(), members, "rsp-capacity") }).
			WithTimeout(wait).WithPolling(poll).Should(Equal(split{"local": 6, "cce": 6}), "the even split first")
		g.Eventually(func(g Gomega) {
			p := getRSP(t, host, "rsp-capacity")
			g.Expect(statusSplit(p)).To(Equal(split{"local": 7, "cce": 5}))
			g.Expect(p.Status.Summary).To(Equal("cce:5/5 local:7/7"))
		}).WithTimeout(rsp.DefaultUnschedulableThreshold + wait).WithPolling(time.Second).Should(Succeed())
		t.Logf("the excess runs on local %v after applying (threshold %v)", time.Since(started).Round(time.Second), rsp.DefaultUnschedulableThreshold)
		// KubeFed's planner keeps the replicas that do not fit in cce's override, so that
		// cce takes them back when it has room again.
		g.Expect(memberReplicas(t.Context(), members, "rsp-capacity")).To(Equal(split{"local": 7, "cce": 6}))
		g.Eventually(func() bool { return hasEvent(t, host, "rsp-capacity", rsp.EventCapacityExceeded) }).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "a CapacityExceeded event")
		for cluster, want := range map[string]int64{"local": 7, "cce": 5} {
			g.Eventually(func() float64 {
				return ctrl.Metric(t, "fedplane_rsp_planned_replicas", map[string]string{"name": "rsp-capacity", "cluster": cluster})
			}).WithTimeout(wait).WithPolling(poll).Should(BeEquivalentTo(want), "planned replicas metric of %s", cluster)
		}

		table := kubectlGetRSP(t, lab.Host(), "rsp-capacity")
		t.Logf("kubectl get rsp rsp-capacity:\n%s", table)
		g.Expect(table).To(MatchRegexp(`(?m)^NAME +TARGET +TOTAL +SCHEDULED +READY +CLUSTERS\b`))
		g.Expect(table).To(ContainSubstring("cce:5/5 local:7/7"))
	})

	// The subtests below use namespaces of their own, so that they can run alone
	// (-run 'TestReplicaScheduling/candidates').
	t.Run("candidates: every Ready cluster, even one that the FederatedNamespace does not place", func(t *testing.T) {
		g := NewWithT(t)
		const ns = "rsp-one-member"
		framework.FederateNamespace(t, host, ns, "local")
		framework.ApplyObject(t, host, placedDeployment(ns, "spread", map[string]any{"clusterSelector": map[string]any{}}))
		framework.ApplyObject(t, host, preference(ns, "spread", 4, false, nil))
		g.Eventually(func() (targetPlan, error) { return readTargetPlan(t.Context(), host, ns, "spread") }).
			WithTimeout(wait).WithPolling(poll).Should(Equal(targetPlan{Placed: []string{"cce", "local"}, Replicas: split{"cce": 2, "local": 2}}))
		g.Eventually(func(g Gomega) {
			p := getRSPIn(t, host, ns, "spread")
			g.Expect(plannedCondition(p)).To(Equal("True/" + rsp.ReasonApplied))
			g.Expect(statusSplit(p)).To(Equal(split{"cce": 2, "local": 2}))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		// The sync controller still honours the namespace placement: only local runs the
		// workload, with its share.
		g.Eventually(func() (int64, error) { return replicasIn(t.Context(), members["local"], ns, "spread") }).
			WithTimeout(wait).WithPolling(poll).Should(Equal(int64(2)))
		g.Expect(replicasIn(t.Context(), members["cce"], ns, "spread")).To(Equal(int64(-1)), "no Deployment in cce, where the namespace is not placed")
	})

	t.Run("candidates with intersectWithClusterSelector: the target's clusterSelector and the FederatedNamespace's", func(t *testing.T) {
		g := NewWithT(t)
		// As in KubeFed's own e2e: the namespace is placed by an empty selector, the target by
		// an empty cluster list and a selector that only cce matches.
		const ns = "rsp-all-members"
		g.Expect(client.IgnoreAlreadyExists(host.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))).To(Succeed())
		framework.ApplyObject(t, host, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedNamespace",
			"metadata": map[string]any{"name": ns, "namespace": ns},
			"spec":     map[string]any{"placement": map[string]any{"clusterSelector": map[string]any{}}},
		}})
		framework.ApplyObject(t, host, placedDeployment(ns, "narrowed", map[string]any{
			"clusters": []any{}, "clusterSelector": map[string]any{"matchLabels": map[string]any{"region": "lab-cce"}},
		}))
		framework.ApplyObject(t, host, preference(ns, "narrowed", 6, true, map[string]any{
			"local": map[string]any{"minReplicas": int64(3), "weight": int64(2)},
			"cce":   map[string]any{"minReplicas": int64(3), "weight": int64(1)},
		}))
		g.Eventually(func() (targetPlan, error) { return readTargetPlan(t.Context(), host, ns, "narrowed") }).
			WithTimeout(wait).WithPolling(poll).Should(Equal(targetPlan{Placed: []string{"cce"}, Replicas: split{"cce": 6}}))
		g.Eventually(func() (int64, error) { return replicasIn(t.Context(), members["cce"], ns, "narrowed") }).
			WithTimeout(wait).WithPolling(poll).Should(Equal(int64(6)))

		// A FederatedNamespace placed by its cluster list alone has no clusterSelector, which
		// matches no cluster: there is no candidate, the target is left as it is, and the
		// status says why.
		const one = "rsp-one-member"
		framework.FederateNamespace(t, host, one, "local")
		framework.ApplyObject(t, host, placedDeployment(one, "narrowed", map[string]any{"clusterSelector": map[string]any{}}))
		framework.ApplyObject(t, host, preference(one, "narrowed", 6, true, nil))
		g.Eventually(func(g Gomega) {
			p := getRSPIn(t, host, one, "narrowed")
			g.Expect(plannedCondition(p)).To(Equal("False/" + rsp.ReasonNoReadyClusters))
			g.Expect(meta(p).Message).To(ContainSubstring("FederatedNamespace's"))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		g.Expect(readTargetPlan(t.Context(), host, one, "narrowed")).To(Equal(targetPlan{Replicas: split{}}), "the target is left as it is")
	})
}

// targetPlan is what a preference wrote on its target: the placement's clusters and the
// /spec/replicas overrides.
type targetPlan struct {
	Placed   []string
	Replicas split
}

func readTargetPlan(ctx context.Context, host client.Client, namespace, name string) (targetPlan, error) {
	fd, err := framework.GetObject(ctx, host, fedDeploymetGVK, namespace, name)
	if err != nil || fd == nil {
		return targetPlan{}, err
	}
	out := targetPlan{Placed: placed(fd), Replicas: split{}}
	overrides, _, _ := unstructured.NestedSlice(fd.Object, "spec", "overrides")
	for _, o := range overrides {
		co, _ := o.(map[string]any)
		ops, _ := co["clusterOverrides"].([]any)
		for _, op := range ops {
			if m, _ := op.(map[string]any); m["path"] == "/spec/replicas" {
				n, _ := m["value"].(int64)
				out.Replicas[co["clusterName"].(string)] = n
			}
		}
	}
	return out, nil
}

// placedDeployment builds a FederatedDeployment of one replica with the given placement.
func placedDeployment(namespace, name string, placement map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedDeployment",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec": map[string]any{
			"template": map[string]any{"spec": map[string]any{
				"replicas": int64(1),
				"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
				"template": map[string]any{
					"metadata": map[string]any{"labels": map[string]any{"app": name}},
					"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "nginx:1.25"}}},
				},
			}},
			"placement": placement,
		},
	}}
}

// preference builds a ReplicaSchedulingPreference of a FederatedDeployment.
func preference(namespace, name string, total int64, intersect bool, clusters map[string]any) *unstructured.Unstructured {
	spec := map[string]any{"targetKind": "FederatedDeployment", "totalReplicas": total, "intersectWithClusterSelector": intersect}
	if clusters != nil {
		spec["clusters"] = clusters
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "scheduling.kubefed.io/v1alpha1", "kind": "ReplicaSchedulingPreference",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec":     spec,
	}}
}

// readExpected reads seed/expected/03-rsp.yaml: the Ready split of each preference, and, from
// its comment, the replicas on local with cce down.
func readExpected(t *testing.T) (map[string]split, map[string]int64) {
	t.Helper()
	raw, err := os.ReadFile(testfixtures.Path(t, "seed", "expected", "03-rsp.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ready := map[string]split{}
	if err := yaml.Unmarshal(raw, &ready); err != nil {
		t.Fatal(err)
	}
	down := map[string]int64{}
	for _, m := range regexp.MustCompile(`(rsp-[a-z]+): \{local: (\d+)\}`).FindAllStringSubmatch(string(raw), -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		down[m[1]] = n
	}
	if len(ready) != 4 || len(down) != 3 {
		t.Fatalf("expected/03-rsp.yaml: read %d Ready splits and %d cce-down figures, want 4 and 3", len(ready), len(down))
	}
	return ready, down
}

func ready(t *testing.T, host client.Client, name string) bool {
	kfc := &corev1beta1.KubeFedCluster{}
	if err := host.Get(t.Context(), client.ObjectKey{Namespace: kfcNS, Name: name}, kfc); err != nil {
		return false
	}
	return cluster.IsReady(kfc.Status)
}

// replicas returns spec.replicas of a member's Deployment, or -1 when there is none.
func replicas(ctx context.Context, c client.Client, name string) (int64, error) {
	return replicasIn(ctx, c, testNS, name)
}

// replicasIn is replicas in another namespace.
func replicasIn(ctx context.Context, c client.Client, namespace, name string) (int64, error) {
	d, err := framework.GetObject(ctx, c, deploymentGVK, namespace, name)
	if err != nil || d == nil {
		return -1, err
	}
	n, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	return n, nil
}

// memberReplicas returns spec.replicas of the Deployment in every member that has it.
func memberReplicas(ctx context.Context, members map[string]client.Client, name string) (split, error) {
	out := split{}
	for cluster, c := range members {
		n, err := replicas(ctx, c, name)
		if err != nil {
			return nil, err
		}
		if n >= 0 {
			out[cluster] = n
		}
	}
	return out, nil
}

// replicaStatus is what a FederatedDeployment's status says of its replicas, as `kubectl get`
// shows them in DESIRED, READY and STALE; -1 where a field is unset.
type replicaStatus struct{ Desired, Ready, Stale int64 }

func federatedReplicas(ctx context.Context, host client.Client, name string) (replicaStatus, error) {
	fd, err := framework.GetObject(ctx, host, fedDeploymetGVK, testNS, name)
	if err != nil || fd == nil {
		return replicaStatus{}, err
	}
	field := func(f string) int64 {
		n, found, _ := unstructured.NestedInt64(fd.Object, "status", f)
		if !found {
			return -1
		}
		return n
	}
	return replicaStatus{Desired: field("replicas"), Ready: field("readyReplicas"), Stale: field("staleReplicas")}, nil
}

func image(ctx context.Context, c client.Client, name string) (string, error) {
	d, err := framework.GetObject(ctx, c, deploymentGVK, testNS, name)
	if err != nil || d == nil {
		return "", err
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		return "", nil
	}
	img, _ := containers[0].(map[string]any)["image"].(string)
	return img, nil
}

func getRSP(t *testing.T, host client.Client, name string) *schedulingv1alpha1.ReplicaSchedulingPreference {
	return getRSPIn(t, host, testNS, name)
}

func getRSPIn(t *testing.T, host client.Client, namespace, name string) *schedulingv1alpha1.ReplicaSchedulingPreference {
	p := &schedulingv1alpha1.ReplicaSchedulingPreference{}
	if err := host.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, p); err != nil {
		t.Fatalf("failed to read RSP %s: %v", name, err)
	}
	return p
}

func patchRSP(t *testing.T, host client.Client, name string, spec map[string]any) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"spec": spec})
	if err != nil {
		t.Fatal(err)
	}
	p := &schedulingv1alpha1.ReplicaSchedulingPreference{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name}}
	if err := host.Patch(t.Context(), p, client.RawPatch(types.MergePatchType, b)); err != nil {
		t.Fatalf("failed to patch RSP %s: %v", name, err)
	}
}

func meta(p *schedulingv1alpha1.ReplicaSchedulingPreference) metav1.Condition {
	for _, c := range p.Status.Conditions {
		if c.Type == rsp.ConditionPlanned {
			return c
		}
	}
	return metav1.Condition{}
}

func plannedCondition(p *schedulingv1alpha1.ReplicaSchedulingPreference) string {
	c := meta(p)
	return string(c.Status) + "/" + c.Reason
}

func statusSplit(p *schedulingv1alpha1.ReplicaSchedulingPreference) split {
	out := split{}
	for _, c := range p.Status.Clusters {
		out[c.Name] = int64(c.Replicas)
	}
	return out
}

func placed(fd *unstructured.Unstructured) []string {
	clusters, _, _ := unstructured.NestedSlice(fd.Object, "spec", "placement", "clusters")
	var names []string
	for _, c := range clusters {
		names = append(names, c.(map[string]any)["name"].(string))
	}
	return names
}

// expectUserOverride checks that rsp-even's target still has the user's image override for cce.
func expectUserOverride(t *testing.T, host client.Client) {
	t.Helper()
	fd, err := framework.GetObject(t.Context(), host, fedDeploymetGVK, testNS, "rsp-even")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(fd.Object["spec"].(map[string]any)["overrides"])
	if !strings.Contains(string(b), `"path":"/spec/template/spec/containers/0/image","value":"nginx:1.26"`) {
		t.Errorf("the user's override is gone from rsp-even's overrides: %s", b)
	}
}

// hasEvent tells whether an event with reason is recorded on the preference name.
func hasEvent(t *testing.T, host client.Client, name, reason string) bool {
	list := &eventsv1.EventList{}
	if err := host.List(t.Context(), list, client.InNamespace(testNS)); err != nil {
		t.Fatalf("failed to list events: %v", err)
	}
	for _, e := range list.Items {
		if e.Regarding.Kind == "ReplicaSchedulingPreference" && e.Regarding.Name == name && e.Reason == reason {
			t.Logf("event %s on %s: %s", reason, name, e.Note)
			return true
		}
	}
	return false
}

// deployment builds a member Deployment whose selector has an app label and a tier expression.
func deployment(name string, n int64, tier string, nodeSelector map[string]string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": testNS},
		"spec":     workloadSpec(n, tier, nodeSelector),
	}}
}

func workloadSpec(n int64, tier string, nodeSelector map[string]string) map[string]any {
	sel := map[string]any{}
	for k, v := range nodeSelector {
		sel[k] = v
	}
	return map[string]any{
		"replicas": n,
		"selector": map[string]any{
			"matchLabels":      map[string]any{"app": "rsp-capacity"},
			"matchExpressions": []any{map[string]any{"key": "tier", "operator": "In", "values": []any{tier}}},
		},
		"template": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"app": "rsp-capacity", "tier": tier}},
			"spec": map[string]any{
				"nodeSelector": sel,
				"containers":   []any{map[string]any{"name": "app", "image": "nginx:1.25"}},
			},
		},
	}
}

func federatedDeployment(name string, nodeSelector map[string]string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedDeployment",
		"metadata": map[string]any{"name": name, "namespace": testNS},
		"spec": map[string]any{
			"template":  map[string]any{"spec": workloadSpec(1, "web", nodeSelector)},
			"placement": map[string]any{"clusterSelector": map[string]any{}},
		},
	}}
}

// kubectlGetRSP reads a preference as a table, as `kubectl get rsp` does, and prints it.
func kubectlGetRSP(t *testing.T, host *framework.Cluster, name string) string {
	t.Helper()
	return kubectlGet(t, host, fmt.Sprintf("/apis/scheduling.kubefed.io/v1alpha1/namespaces/%s/replicaschedulingpreferences/%s", testNS, name))
}

// kubectlGetFederatedDeployment reads a FederatedDeployment as a table, as `kubectl get
// federateddeployments` does, and prints it.
func kubectlGetFederatedDeployment(t *testing.T, host *framework.Cluster, name string) string {
	t.Helper()
	return kubectlGet(t, host, fmt.Sprintf("/apis/%s/namespaces/%s/federateddeployments/%s", fedDeploymetGVK.GroupVersion(), testNS, name))
}

// kubectlGet reads the object at path as a table, as `kubectl get` does, and prints it.
func kubectlGet(t *testing.T, host *framework.Cluster, path string) string {
	t.Helper()
	cfg := rest.CopyConfig(host.RESTConfig())
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = nil
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	url := host.Server() + path
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var table metav1.Table
	if err := json.NewDecoder(resp.Body).Decode(&table); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	var header []string
	for _, c := range table.ColumnDefinitions {
		header = append(header, strings.ToUpper(c.Name))
	}
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, row := range table.Rows {
		var cells []string
		for _, c := range row.Cells {
			cells = append(cells, fmt.Sprint(c))
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	_ = w.Flush()
	return b.String()
}
