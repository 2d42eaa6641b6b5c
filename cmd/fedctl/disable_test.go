package main

import (
	"testing"

	. "github.com/onsi/gomega"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/manifests"
)

func TestDisable(t *testing.T) {
	c := hostAPI(t)
	g := NewWithT(t)
	_, _, err := onHost(t, "enable", "resourcequotas")
	g.Expect(err).NotTo(HaveOccurred())
	createCRD(t, c, "example.com", "Gadget", "gadgets", widgetSpec)
	_, _, err = onHost(t, "enable", "gadgets.example.com")
	g.Expect(err).NotTo(HaveOccurred())
	ftcOf := func(g Gomega, name string) *corev1beta1.FederatedTypeConfig {
		ftc := &corev1beta1.FederatedTypeConfig{}
		g.Expect(c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, ftc)).To(Succeed())
		return ftc
	}
	gone := func(g Gomega, obj client.Object, key client.ObjectKey) {
		err := c.Get(t.Context(), key, obj)
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s: %v", key, err)
	}

	t.Run("propagation is Disabled in the spec; the type stays", func(t *testing.T) {
		g := NewWithT(t)
		out, _, err := onHost(t, "disable", "ResourceQuota", "--wait=false")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("FederatedTypeConfig kube-federation-system/resourcequotas: spec.propagation set to Disabled"))
		g.Expect(ftcOf(g, "resourcequotas").Spec.Propagation).To(Equal(corev1beta1.PropagationDisabled))
		g.Expect(c.Get(t.Context(), client.ObjectKey{Name: "federatedresourcequotas.types.kubefed.io"}, &apiextv1.CustomResourceDefinition{})).To(Succeed())
	})

	t.Run("waiting for the controller fails when it does not report NotRunning, and succeeds when it does", func(t *testing.T) {
		g := NewWithT(t)
		_, _, err := onHost(t, "disable", "resourcequotas", "--timeout", "500ms")
		g.Expect(err).To(MatchError(And(ContainSubstring("FederatedTypeConfig kube-federation-system/resourcequotas"),
			ContainSubstring("status.propagationController is not NotRunning after 500ms"), ContainSubstring("is fed-controller running?"))))

		// Report as fed-controller does once the type's sync controller has stopped.
		ftc := ftcOf(g, "resourcequotas")
		ftc.Status = corev1beta1.FederatedTypeConfigStatus{ObservedGeneration: ftc.Generation, PropagationController: corev1beta1.ControllerStatusNotRunning}
		g.Expect(c.Status().Update(t.Context(), ftc)).To(Succeed())
		out, _, err := onHost(t, "disable", "resourcequotas", "--timeout", "5s")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(And(ContainSubstring("propagation already Disabled"), ContainSubstring("propagation controller NotRunning")))
	})

	t.Run("--delete-crd removes the CRD and the FederatedTypeConfig", func(t *testing.T) {
		g := NewWithT(t)
		out, _, err := onHost(t, "disable", "resourcequotas", "--delete-crd", "--wait=false")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("CustomResourceDefinition federatedresourcequotas.types.kubefed.io deleted"))
		gone(g, &apiextv1.CustomResourceDefinition{}, client.ObjectKey{Name: "federatedresourcequotas.types.kubefed.io"})
		gone(g, &corev1beta1.FederatedTypeConfig{}, client.ObjectKey{Namespace: ns, Name: "resourcequotas"})
	})

	t.Run("--delete-crd refuses while federated objects exist; --force deletes them and the type", func(t *testing.T) {
		g := NewWithT(t)
		a, err := framework.NewApplier(lab.Host().RESTConfig())
		g.Expect(err).NotTo(HaveOccurred())
		objs, err := manifests.Decode([]byte(`
apiVersion: types.kubefed.io/v1beta1
kind: FederatedGadget
metadata: {name: g1, namespace: default, finalizers: [kubefed.io/sync-controller]}
spec: {template: {spec: {size: 1}}, placement: {clusterSelector: {}}}
`))
		g.Expect(err).NotTo(HaveOccurred())
		_, err = a.Create(t.Context(), objs[0])
		g.Expect(err).NotTo(HaveOccurred())

		_, _, err = onHost(t, "disable", "gadgets.example.com", "--delete-crd", "--wait=false")
		g.Expect(err).To(MatchError(And(ContainSubstring("refusing to delete CustomResourceDefinition federatedgadgets.types.kubefed.io"),
			ContainSubstring("1 FederatedGadget objects exist (default/g1)"), ContainSubstring("nothing was changed"))))
		g.Expect(ftcOf(g, "gadgets.example.com").Spec.Propagation).To(Equal(corev1beta1.PropagationEnabled))

		out, _, err := onHost(t, "disable", "gadgets.example.com", "--delete-crd", "--force", "--wait=false")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("deleted, with 1 FederatedGadget objects (--force)"))
		gone(g, &apiextv1.CustomResourceDefinition{}, client.ObjectKey{Name: "federatedgadgets.types.kubefed.io"})
		gone(g, &corev1beta1.FederatedTypeConfig{}, client.ObjectKey{Namespace: ns, Name: "gadgets.example.com"})
		g.Expect(c.Get(t.Context(), client.ObjectKey{Name: "gadgets.example.com"}, &apiextv1.CustomResourceDefinition{})).
			To(Succeed(), "the target type stays")
	})

	t.Run("what is not enabled is named", func(t *testing.T) {
		g := NewWithT(t)
		_, _, err := onHost(t, "disable", "persistentvolumeclaims", "--wait=false")
		g.Expect(err).To(MatchError(ContainSubstring("persistentvolumeclaims is not enabled: there is no FederatedTypeConfig kube-federation-system/persistentvolumeclaims")))
		_, _, err = onHost(t, "disable", "sprockets", "--wait=false")
		g.Expect(err).To(MatchError(ContainSubstring(`no FederatedTypeConfig kube-federation-system/sprockets, and the host has no API type named "sprockets"`)))
		_, _, err = onHost(t, "disable", "configmaps", "--force")
		g.Expect(err).To(MatchError("--force goes with --delete-crd only"))
	})
}
