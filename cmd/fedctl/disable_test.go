package main

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
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

// memberCopy is a PodTemplate as the sync controller writes it into a member: labelled managed,
// with the control plane's id and the registration's name, and an annotation of the user's.
func memberCopy(name, controlPlaneID, registration string) *corev1.PodTemplate {
	return &corev1.PodTemplate{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{contract.ManagedLabel: "true", "app": name},
			Annotations: map[string]string{
				contract.ControlPlaneAnnotation: controlPlaneID, contract.ClusterAnnotation: registration,
				contract.AppliedAnnotation: "sum", "team": "shop",
			},
		},
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}},
	}
}

// marks are an object's labels and annotations.
type marks struct {
	Labels, Annotations map[string]string
}

func TestDisableForceUnmanagesTheMemberCopies(t *testing.T) {
	c := hostAPI(t)
	g := NewWithT(t)
	_, _, err := onHost(t, "enable", "podtemplates")
	g.Expect(err).NotTo(HaveOccurred())
	hostNamespace := &corev1.Namespace{}
	g.Expect(c.Get(t.Context(), client.ObjectKey{Name: ns}, hostNamespace)).To(Succeed())
	id := string(hostNamespace.UID)

	// Two reachable registrations, and one whose endpoint nothing listens on.
	for _, r := range []struct{ member, name string }{{"local", "unmanage-local"}, {"cce", "unmanage-cce"}} {
		m := lab.Cluster(r.member)
		g.Expect(m.Register(t.Context(), c, framework.Registration{Name: r.name, CABundle: m.CACert()})).To(Succeed())
	}
	g.Expect(c.Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "unmanage-gone-token", Namespace: ns},
		Data:       map[string][]byte{"token": []byte("t")},
	})).To(Succeed())
	gone := &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "unmanage-gone", Namespace: ns},
		Spec:       corev1beta1.KubeFedClusterSpec{APIEndpoint: "https://127.0.0.1:1", SecretRef: corev1beta1.LocalSecretReference{Name: "unmanage-gone-token"}},
	}
	g.Expect(c.Create(t.Context(), gone)).To(Succeed())
	t.Cleanup(func() {
		// The test's context has ended by now; the registrations must go, or the join tests
		// find the members registered twice.
		ctx := context.Background()
		for _, name := range []string{"unmanage-local", "unmanage-cce", "unmanage-gone"} {
			if err := c.Delete(ctx, &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}); err != nil && !apierrors.IsNotFound(err) {
				t.Error(err)
			}
			if err := c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-token", Namespace: ns}}); err != nil && !apierrors.IsNotFound(err) {
				t.Error(err)
			}
		}
	})

	local, err := lab.Cluster("local").Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	cce, err := lab.Cluster("cce").Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	copies := []struct {
		cs   kubernetes.Interface
		copy *corev1.PodTemplate
	}{
		{local, memberCopy("ours", id, "unmanage-local")},
		{cce, memberCopy("ours", id, "unmanage-cce")},
		// What must not change: another control plane's copy, and copies written for another
		// registration, in the same member and in another.
		{local, memberCopy("another-control-plane", "another-id", "unmanage-local")},
		{local, memberCopy("another-registration", id, "unmanage-local-2")},
		{cce, memberCopy("for-local", id, "unmanage-local")},
	}
	others := copies[2:]
	for _, x := range copies {
		_, err := x.cs.CoreV1().PodTemplates(metav1.NamespaceDefault).Create(t.Context(), x.copy, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		t.Cleanup(func() {
			_ = x.cs.CoreV1().PodTemplates(metav1.NamespaceDefault).Delete(context.Background(), x.copy.Name, metav1.DeleteOptions{})
		})
	}
	marksOf := func(g Gomega, cs kubernetes.Interface, name string) marks {
		pt, err := cs.CoreV1().PodTemplates(metav1.NamespaceDefault).Get(t.Context(), name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		return marks{pt.Labels, pt.Annotations}
	}
	a, err := framework.NewApplier(lab.Host().RESTConfig())
	g.Expect(err).NotTo(HaveOccurred())
	objs, err := manifests.Decode([]byte(`
apiVersion: types.kubefed.io/v1beta1
kind: FederatedPodTemplate
metadata: {name: ours, namespace: default, finalizers: [kubefed.io/sync-controller]}
spec: {template: {template: {spec: {containers: [{name: c, image: busybox}]}}}, placement: {clusterSelector: {}}}
`))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = a.Create(t.Context(), objs[0])
	g.Expect(err).NotTo(HaveOccurred())

	t.Run("the copies of this control plane for each registration lose its marks; an unreachable member is named and the type is kept", func(t *testing.T) {
		g := NewWithT(t)
		out, _, err := onHost(t, "disable", "podtemplates", "--delete-crd", "--force", "--wait=false", "--timeout", "10s")
		t.Logf("fedctl disable printed:\n%sand failed with: %v", out, err)
		unmanaged := marks{Labels: map[string]string{"app": "ours"}, Annotations: map[string]string{"team": "shop"}}
		g.Expect(marksOf(g, local, "ours")).To(Equal(unmanaged))
		g.Expect(marksOf(g, cce, "ours")).To(Equal(unmanaged))
		for _, x := range others {
			g.Expect(marksOf(g, x.cs, x.copy.Name)).To(Equal(marks{x.copy.Labels, x.copy.Annotations}), "%s is not this registration's copy", x.copy.Name)
		}
		g.Expect(err).To(MatchError(And(ContainSubstring("KubeFedCluster unmanage-gone"), ContainSubstring("still labelled kubefed.io/managed=true"),
			ContainSubstring("FederatedTypeConfig kube-federation-system/podtemplates is kept"))))
		g.Expect(out).To(And(ContainSubstring("KubeFedCluster unmanage-local: 1 PodTemplate copies unmanaged"),
			ContainSubstring("KubeFedCluster unmanage-cce: 1 PodTemplate copies unmanaged")))
		g.Expect(c.Get(t.Context(), client.ObjectKey{Name: "federatedpodtemplates.types.kubefed.io"}, &apiextv1.CustomResourceDefinition{})).
			To(WithTransform(apierrors.IsNotFound, BeTrue()))
		g.Expect(c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "podtemplates"}, &corev1beta1.FederatedTypeConfig{})).To(Succeed())
	})

	t.Run("once the member is unjoined, the same command finishes", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Delete(t.Context(), gone)).To(Succeed())
		out, _, err := onHost(t, "disable", "podtemplates", "--delete-crd", "--force", "--wait=false", "--timeout", "10s")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(And(ContainSubstring("KubeFedCluster unmanage-local: 0 PodTemplate copies unmanaged"),
			ContainSubstring("FederatedTypeConfig kube-federation-system/podtemplates deleted")))
		err = c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "podtemplates"}, &corev1beta1.FederatedTypeConfig{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%v", err)
		for _, x := range others {
			g.Expect(marksOf(g, x.cs, x.copy.Name)).To(Equal(marks{x.copy.Labels, x.copy.Annotations}))
		}
	})
}
