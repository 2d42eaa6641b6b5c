package plan_test

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/internal/testfixtures"
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
	wait           = 60 * time.Second
	poll           = 200 * time.Millisecond
	controlPlaneID = "fedplane-plan"
)

// TestPlanIsWhatTheMembersReceive applies the seed fixtures to a lab host with fed-controller
// running, runs fedctl plan on the same manifests and on the clusters as the host records them,
// and compares, cluster by cluster, every object the plan shows with the fields fedplane applied
// to the member's copy, byte for byte.
func TestPlanIsWhatTheMembersReceive(t *testing.T) {
	framework.Require(t, lab)
	fed := framework.StartFederation(t, lab, controllerBinary, controlPlaneID, "local", "cce")
	fedctl, err := framework.BuildCommand(t.TempDir(), "fedctl")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the seed fixtures: the plan shows exactly what each member holds", func(t *testing.T) {
		g := NewWithT(t)
		seed := testfixtures.Path(t, "seed", "manifests")
		docs, err := manifests.Load(seed)
		g.Expect(err).NotTo(HaveOccurred())
		// A preference without rebalance keeps the replicas that the members are asked to run
		// already, and a copy written from the template before the preference's first plan
		// would count as such. Applying the FederatedNamespace last gives the members their
		// copies only once every preference has planned them: a fresh placement, which is
		// what the plan previews.
		var namespace *unstructured.Unstructured
		for _, d := range docs {
			if d.Object.GetKind() == "FederatedNamespace" {
				namespace = d.Object
				continue
			}
			framework.ApplyObject(t, fed.Host, d.Object)
		}
		g.Expect(namespace).NotTo(BeNil())
		g.Eventually(func(g Gomega) {
			list := &schedulingv1alpha1.ReplicaSchedulingPreferenceList{}
			g.Expect(fed.Host.List(t.Context(), list, client.InNamespace(namespace.GetNamespace()))).To(Succeed())
			g.Expect(list.Items).To(HaveLen(4))
			for _, pref := range list.Items {
				g.Expect(pref.Status.Conditions).To(ContainElement(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", rsp.ReasonApplied))), pref.Name)
			}
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), "every preference has planned its target")
		framework.ApplyObject(t, fed.Host, namespace)
		p := runPlan(t, fedctl, "-f", seed, "-f", writeClusters(t, fed.Host), "--control-plane-id", controlPlaneID)
		// The namespace, the walkthrough's Deployment and the four RSP targets, each in both
		// clusters.
		g.Expect(p.Items).To(HaveLen(6))
		started := time.Now()
		for _, item := range p.Items {
			g.Expect(item.Errors).To(BeEmpty(), "%s %s", item.Kind, item.Name)
			g.Expect(item.Clusters).To(HaveLen(2), "%s %s", item.Kind, item.Name)
			for _, c := range item.Clusters {
				g.Expect(c.Selected && c.Object != nil).To(BeTrue(), "%s %s goes to cluster %s", item.Kind, item.Name, c.Name)
				g.Eventually(func(g Gomega) {
					got, want, err := memberFields(t.Context(), fed.Members[c.Name], c.Object)
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(string(got)).To(Equal(string(want)), "fields applied (-plan +member):\n%s", jsonDiff(want, got))
				}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), "%s %s in cluster %s", item.Kind, item.Name, c.Name)
			}
		}
		t.Logf("the members hold what the plan shows, %v after the plan", time.Since(started).Round(time.Millisecond))
	})

	t.Run("render warnings reach the federated object's status and the plan", func(t *testing.T) {
		g := NewWithT(t)
		framework.FederateNamespace(t, fed.Host, "warned", "local")
		cm := framework.FederatedConfigMap("warned", "noted", map[string]any{"k": "v"}, "local")
		g.Expect(unstructured.SetNestedStringMap(cm.Object, map[string]string{"note": "kept on the host"}, "spec", "template", "metadata", "annotations")).To(Succeed())
		framework.ApplyObject(t, fed.Host, cm)
		const dropped = "metadata.annotations is not propagated from the template"
		g.Eventually(func(g Gomega) {
			st, err := framework.FederatedStatus(t.Context(), fed.Host, typesv1beta1.GroupVersion.WithKind("FederatedConfigMap"), "warned", "noted")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(framework.ClusterStatuses(st)).To(Equal([]string{"local="}))
			g.Expect(st.Conditions).To(ContainElement(HaveField("Message", And(ContainSubstring("AnnotationsNotSupported"), ContainSubstring(dropped)))))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())

		fns, err := framework.GetObject(t.Context(), fed.Host, typesv1beta1.FederatedNamespaceGVK, "warned", "warned")
		g.Expect(err).NotTo(HaveOccurred())
		manifest := writeObjects(t, fns, cm)
		p := runPlan(t, fedctl, "-f", manifest, "-f", writeClusters(t, fed.Host), "--control-plane-id", controlPlaneID)
		g.Expect(p.Items).To(HaveLen(2))
		item := p.Items[0]
		g.Expect(item.Kind + " " + item.Name).To(Equal("FederatedConfigMap noted"))
		g.Expect(item.Warnings).To(ConsistOf(And(HaveField("Cluster", "local"), HaveField("Reason", "AnnotationsNotSupported"), HaveField("Message", ContainSubstring(dropped)))))
	})
}

// jsonDiff shows two JSON documents' difference, decoded.
func jsonDiff(want, got []byte) string {
	var w, g any
	_ = yaml.Unmarshal(want, &w)
	_ = yaml.Unmarshal(got, &g)
	return cmp.Diff(w, g)
}
