package propagation_test

import (
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

// propagationCondition is a federated object's Propagation condition as "Status/Reason: message".
func propagationCondition(t *testing.T, host client.Client, namespace, name string) func() (string, error) {
	return func() (string, error) {
		st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, namespace, name)
		for _, c := range st.Conditions {
			if c != nil && c.Type == typesv1beta1.PropagationConditionType {
				return string(c.Status) + "/" + string(c.Reason) + ": " + c.Message, err
			}
		}
		return "", err
	}
}

// testPlacementFailure applies a FederatedConfigMap whose cluster selector the CRD accepts
// but placement refuses (a label value with a space): its status must say why it is placed
// nowhere, and an event too.
func testPlacementFailure(t *testing.T, host client.Client) {
	g := NewWithT(t)
	federateNamespace(t, host, "e2e-outcomes", "local", "cce")
	obj := configMap("e2e-outcomes", "badselector", map[string]any{"k": "v"})
	obj.Object["spec"].(map[string]any)["placement"] = map[string]any{
		"clusterSelector": map[string]any{"matchLabels": map[string]any{"tier": "front end"}},
	}
	framework.ApplyObject(t, host, obj)
	g.Eventually(propagationCondition(t, host, "e2e-outcomes", "badselector")).WithTimeout(wait).WithPolling(poll).Should(
		And(HavePrefix("False/ComputePlacementFailed: "), ContainSubstring(`"front end"`)))
	g.Eventually(fedEvents(t, host, "e2e-outcomes", "FederatedConfigMap", "badselector")).WithTimeout(wait).WithPolling(poll).Should(
		ContainElement(HavePrefix("ComputePlacementFailed: ")))
}

// testUnknownClusters applies a FederatedConfigMap whose placement names local and 500
// clusters that are not registered: it propagates to local, as KubeFed's status says, and the
// status's message and an event name the others, 10 of them.
func testUnknownClusters(t *testing.T, fed framework.Federation) {
	g := NewWithT(t)
	host := fed.Host
	federateNamespace(t, host, "e2e-unknown", "local", "cce")
	clusters := []string{"local"}
	for i := range 500 {
		clusters = append(clusters, fmt.Sprintf("ghost-%03d", 499-i))
	}
	framework.ApplyObject(t, host, configMap("e2e-unknown", "ghosts", map[string]any{"k": "v"}, clusters...))
	const message = "spec.placement.clusters names 500 clusters that are not registered; they are ignored: " +
		"ghost-000, ghost-001, ghost-002, ghost-003, ghost-004, ghost-005, ghost-006, ghost-007, ghost-008, ghost-009 and 490 more"
	g.Eventually(propagationCondition(t, host, "e2e-unknown", "ghosts")).WithTimeout(wait).WithPolling(poll).Should(Equal("True/: " + message))
	g.Eventually(fedEvents(t, host, "e2e-unknown", "FederatedConfigMap", "ghosts")).WithTimeout(wait).WithPolling(poll).Should(
		ContainElement("UnknownClusters: " + message))
	got, err := framework.GetObject(t.Context(), fed.Members["local"], configMapGVK, "e2e-unknown", "ghosts")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).NotTo(BeNil(), "the copy in local")
}

// testTemplateThatCannotBeRendered federates a kind whose federated CRD keeps any template, as
// KubeFed's CRDs do, and applies a template with metadata.labels: 5, which the federated CRDs
// that fedplane generates refuse at apply.
func testTemplateThatCannotBeRendered(t *testing.T, fed framework.Federation) {
	g := NewWithT(t)
	host := fed.Host
	target, federated := typeCRDs("Cog")
	knowCRDs(t, host)
	for _, mc := range fed.Members {
		knowCRDs(t, mc)
		createCRD(t, mc, target.DeepCopy())
	}
	createCRD(t, host, target)
	createCRD(t, host, federated)
	ftc := typeConfig("Cog", "v1beta1")
	g.Expect(host.Create(t.Context(), ftc)).To(Succeed())
	g.Eventually(readTypeState(t, host, ftc.Name)).WithTimeout(wait).WithPolling(poll).Should(
		HaveField("Controller", string(corev1beta1.ControllerStatusRunning)))
	federateNamespace(t, host, "e2e-render", "local")
	framework.ApplyObject(t, host, fedObject(t, `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedCog
metadata: {name: bent, namespace: e2e-render}
spec:
  template: {metadata: {labels: 5}, spec: {size: 1}}
  placement: {clusters: [{name: local}]}
`))
	gvk := typesv1beta1.GroupVersion.WithKind("FederatedCog")
	g.Eventually(func() ([]string, error) {
		st, err := fedStatus(t.Context(), host, gvk, "e2e-render", "bent")
		return clusterStatuses(st), err
	}).WithTimeout(wait).WithPolling(poll).Should(Equal([]string{"local=ComputeResourceFailed"}))
	events := fedEvents(t, host, "e2e-render", "FederatedCog", "bent")
	g.Eventually(events).WithTimeout(wait).WithPolling(poll).Should(ContainElement(
		And(HavePrefix("ComputeResourceFailed: Failed to render Cog e2e-render/bent for cluster local: "), ContainSubstring("labels"))))
	g.Expect(events()).NotTo(ContainElement(HavePrefix("ApplyOverridesFailed")), "the event tells the status, not another reason")
}
