package main

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/manifests"
)

func TestOrphaning(t *testing.T) {
	hostAPI(t)
	g := NewWithT(t)
	a, err := framework.NewApplier(lab.Host().RESTConfig())
	g.Expect(err).NotTo(HaveOccurred())
	objs, err := manifests.Decode([]byte(`
apiVersion: v1
kind: Namespace
metadata: {name: orphans}
---
apiVersion: types.kubefed.io/v1beta1
kind: FederatedNamespace
metadata: {name: orphans, namespace: orphans}
spec: {template: {}, placement: {clusterSelector: {}}}
---
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata: {name: web, namespace: orphans, annotations: {team: shop}}
spec:
  template:
    spec:
      selector: {matchLabels: {app: web}}
      template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx}]}}
  placement: {clusterSelector: {}}
`))
	g.Expect(err).NotTo(HaveOccurred())
	for _, o := range objs {
		_, err := a.Create(t.Context(), o)
		g.Expect(err).NotTo(HaveOccurred(), refOf(o))
	}
	dyn, err := dynamic.NewForConfig(lab.Host().RESTConfig())
	g.Expect(err).NotTo(HaveOccurred())
	annotations := func(g Gomega, plural, name string) map[string]string {
		u, err := dyn.Resource(typesv1beta1.GroupVersion.WithResource(plural)).Namespace("orphans").Get(t.Context(), name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		return u.GetAnnotations()
	}
	status := func(g Gomega, args ...string) string {
		out, _, err := onHost(t, append([]string{"orphaning", "status"}, args...)...)
		g.Expect(err).NotTo(HaveOccurred())
		return out
	}

	t.Run("enable, status and disable, by target or federated type, touching only the annotation", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(status(g, "deployments.apps", "web", "-n", "orphans")).To(Equal("Disabled\n"))
		out, _, err := onHost(t, "orphaning", "enable", "deployments.apps", "web", "-n", "orphans")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(Equal("FederatedDeployment orphans/web: orphaning enabled; deleting it leaves its copies in the member clusters\n"))
		g.Expect(annotations(g, "federateddeployments", "web")).To(Equal(map[string]string{"team": "shop", "kubefed.io/orphan": "true"}))
		for _, typ := range []string{"federateddeployments.types.kubefed.io", "FederatedDeployment.types.kubefed.io", "deployments", "deploy"} {
			g.Expect(status(g, typ, "web", "-n", "orphans")).To(Equal("Enabled\n"), typ)
		}
		_, _, err = onHost(t, "orphaning", "enable", "federateddeployments.types.kubefed.io", "web", "-n", "orphans")
		g.Expect(err).NotTo(HaveOccurred(), "enabling again changes nothing")

		out, _, err = onHost(t, "orphaning", "disable", "federateddeployments.types.kubefed.io", "web", "-n", "orphans")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("FederatedDeployment orphans/web: orphaning disabled"))
		g.Expect(annotations(g, "federateddeployments", "web")).To(Equal(map[string]string{"team": "shop"}))
		g.Expect(status(g, "deployments.apps", "web", "-n", "orphans")).To(Equal("Disabled\n"))
		_, _, err = onHost(t, "orphaning", "disable", "deployments.apps", "web", "-n", "orphans")
		g.Expect(err).NotTo(HaveOccurred(), "disabling again changes nothing")
	})

	t.Run("a FederatedNamespace is found in the namespace it federates", func(t *testing.T) {
		g := NewWithT(t)
		_, _, err := onHost(t, "orphaning", "enable", "namespaces", "orphans")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(annotations(g, "federatednamespaces", "orphans")).To(HaveKeyWithValue("kubefed.io/orphan", "true"))
		g.Expect(status(g, "ns", "orphans")).To(Equal("Enabled\n"))
		g.Expect(status(g, "FederatedNamespace", "orphans")).To(Equal("Enabled\n"))
	})

	t.Run("kubefedctl's spelling: orphaning-deletion and --host-cluster-context", func(t *testing.T) {
		g := NewWithT(t)
		kubefedctl := func(args ...string) (string, error) {
			return fedctl(t, append(append([]string{"orphaning-deletion"}, args...), "--kubeconfig", lab.KubeconfigPath(), "--host-cluster-context", "host")...)
		}
		out, err := kubefedctl("enable", "deployments", "web", "-n", "orphans")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("FederatedDeployment orphans/web: orphaning enabled"))
		g.Expect(kubefedctl("status", "deployments", "web", "-n", "orphans")).To(Equal("Enabled\n"))
		_, err = kubefedctl("disable", "deployments", "web", "-n", "orphans")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(kubefedctl("status", "deployments", "web", "-n", "orphans")).To(Equal("Disabled\n"))
	})

	t.Run("mistakes are named", func(t *testing.T) {
		g := NewWithT(t)
		_, _, err := onHost(t, "orphaning", "enable", "deployments.apps", "missing", "-n", "orphans")
		g.Expect(err).To(MatchError("FederatedDeployment orphans/missing not found in the host"))
		_, _, err = onHost(t, "orphaning", "status", "nodes", "kind-node")
		g.Expect(err).To(MatchError("TYPE nodes is neither a federated type nor the target of a FederatedTypeConfig in kube-federation-system"))
		_, _, err = onHost(t, "orphaning", "status", "deployments.apps")
		g.Expect(err).To(MatchError(ContainSubstring("accepts 2 arg(s), received 1")))
	})
}

func TestOrphaningDeletionIsKubefedctlsNameOfOrphaning(t *testing.T) {
	root := newRootCommand(&bytes.Buffer{}, &bytes.Buffer{})
	for _, sub := range []string{"enable", "disable", "status"} {
		cmd, rest, err := root.Find([]string{"orphaning-deletion", sub, "deployments", "web"})
		if err != nil {
			t.Fatalf("orphaning-deletion %s: %v", sub, err)
		}
		if got := cmd.CommandPath(); got != "fedctl orphaning "+sub {
			t.Errorf("orphaning-deletion %s runs %q, want fedctl orphaning %s", sub, got, sub)
		}
		if diff := cmp.Diff([]string{"deployments", "web"}, rest); diff != "" {
			t.Errorf("orphaning-deletion %s arguments (-want +got):\n%s", sub, diff)
		}
		for _, flag := range []string{"namespace", "kubeconfig", "host-cluster-context", "kubefed-namespace"} {
			if cmd.Flags().Lookup(flag) == nil {
				t.Errorf("orphaning-deletion %s has no --%s", sub, flag)
			}
		}
	}
}
