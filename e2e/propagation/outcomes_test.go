package propagation_test

import (
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
