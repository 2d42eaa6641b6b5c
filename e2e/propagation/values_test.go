package propagation_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

// testTemplateValues applies a FederatedConfigMap with fedplane.io/template-values: each
// member gets its own name and region label in the data. With a value that names a label only
// cce has, cce gets its object and local says ApplyOverridesFailed, with the template's error in
// the status message and in an event.
func testTemplateValues(t *testing.T, fed framework.Federation) {
	g := NewWithT(t)
	host := fed.Host
	const vns = "e2e-values"
	federateNamespace(t, host, vns, "local", "cce")
	values := func(name string, data map[string]any) {
		cm := configMap(vns, name, data, "local", "cce")
		cm.SetAnnotations(map[string]string{contract.TemplateValuesAnnotation: "true"})
		framework.ApplyObject(t, host, cm)
	}
	memberData := func(cluster, name string) func() (map[string]string, error) {
		return func() (map[string]string, error) {
			cm := &corev1.ConfigMap{}
			err := fed.Members[cluster].Get(t.Context(), client.ObjectKey{Namespace: vns, Name: name}, cm)
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			return cm.Data, err
		}
	}

	values("cluster-info", map[string]any{
		"clusterName": "{{ .cluster }}", "region": "{{ .labels.region }}", "namespace": "{{ .namespace }}",
		"agent.yaml": "cluster: {{ .cluster | upper }}\nzone: {{ index .labels \"zone\" | default \"none\" }}\n",
	})
	for _, cluster := range []string{"local", "cce"} {
		g.Eventually(memberData(cluster, "cluster-info")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]string{
			"clusterName": cluster, "region": "lab-" + cluster, "namespace": vns,
			"agent.yaml": "cluster: " + map[string]string{"local": "LOCAL", "cce": "CCE"}[cluster] + "\nzone: none\n",
		}), "the copy in %s", cluster)
	}

	// A label on cce's registration only.
	setTier := func(ctx context.Context, tier string) {
		kfc := &corev1beta1.KubeFedCluster{}
		g.Expect(host.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cce"}, kfc)).To(Succeed())
		patch := client.MergeFrom(kfc.DeepCopy())
		labels := kfc.GetLabels()
		if tier == "" {
			delete(labels, "tier")
		} else {
			labels["tier"] = tier
		}
		kfc.SetLabels(labels)
		g.Expect(host.Patch(ctx, kfc, patch)).To(Succeed())
	}
	setTier(t.Context(), "gold")
	t.Cleanup(func() { setTier(context.Background(), "") })
	values("tiered", map[string]any{"tier": "{{ .labels.tier }}"})
	g.Eventually(memberData("cce", "tiered")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]string{"tier": "gold"}))
	g.Eventually(func() ([]string, error) {
		st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, vns, "tiered")
		return clusterStatuses(st), err
	}).WithTimeout(wait).WithPolling(poll).Should(Equal([]string{"cce=", "local=ApplyOverridesFailed"}))
	const failure = `failed to fill in the template value at /data/tier: template: value:1:10: executing "value" at <.labels.tier>: map has no entry for key "tier"`
	g.Eventually(propagationCondition(t, host, vns, "tiered")).WithTimeout(wait).WithPolling(poll).Should(
		Equal("False/CheckClusters: ApplyOverridesFailed in cluster local: " + failure))
	g.Eventually(fedEvents(t, host, vns, "FederatedConfigMap", "tiered")).WithTimeout(wait).WithPolling(poll).Should(
		ContainElement("ApplyOverridesFailed: Failed to render ConfigMap " + vns + "/tiered for cluster local: " + failure))
	got, err := memberData("local", "tiered")()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(BeNil(), "nothing is written to local")
}
