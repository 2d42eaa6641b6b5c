package propagation_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// autoNS is the namespace of the auto-federation test, federated to the host itself, local and
// cce.
const autoNS = "e2e-auto"

// TestAutoFederation runs fed-controller with --auto-federate and follows a user who labels
// host objects fedplane.io/federate=true instead of writing federated objects. The host is also
// the member local: there, the member object is the user's own object, which must never be
// written or deleted.
func TestAutoFederation(t *testing.T) {
	framework.Require(t, lab)
	const autoFederate = "--auto-federate=configmaps,deployments.apps,clusterroles.rbac.authorization.k8s.io"
	fed := framework.StartFederationWithFlags(t, lab, controllerBinary, "fedplane-auto", []string{"local", "cce"}, []string{autoFederate})
	outer := t
	host, local, cce := fed.Host, fed.Members["local"], fed.Members["cce"]
	members := []client.Client{local, cce}
	h := lab.Host()
	NewWithT(t).Expect(h.Register(t.Context(), host, framework.Registration{CABundle: h.CACert()})).To(Succeed())
	t.Cleanup(func() { _ = framework.Unregister(context.Background(), host, framework.HostName) })
	NewWithT(t).Eventually(func() (bool, error) {
		kfc := &corev1beta1.KubeFedCluster{}
		err := host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: framework.HostName}, kfc)
		return cluster.IsReady(kfc.Status), err
	}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "the host is Ready as a member")
	federateNamespace(t, host, autoNS, framework.HostName, "local", "cce")
	// Every cluster's status: the host's is its own object.
	everywhere := []string{"cce=", "host=" + string(typesv1beta1.SourceObject), "local=", "True/"}
	labelled := map[string]string{contract.FederateLabel: contract.FederateLabelValue, "app": "shop"}

	t.Run("a labelled ConfigMap and Deployment reach every member; the host's own objects are left as they are", func(t *testing.T) {
		g := NewWithT(t)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: autoNS, Labels: labelled}, Data: map[string]string{"color": "blue"}}
		g.Expect(host.Create(t.Context(), cm)).To(Succeed())
		g.Expect(host.Create(t.Context(), autoDeployment("web", "nginx:1.0"))).To(Succeed())

		for _, m := range members {
			g.Eventually(memberConfigMapData(t, m, "settings")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]string{"color": "blue"}))
			g.Eventually(memberImage(t, m)).WithTimeout(wait).WithPolling(poll).Should(Equal("nginx:1.0"))
		}

		fcm, err := framework.GetObject(t.Context(), host, federatedConfigMapGVK, autoNS, "settings")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(fcm).NotTo(BeNil())
		owner := metav1.GetControllerOf(fcm)
		g.Expect(owner).NotTo(BeNil())
		g.Expect(owner.Kind).To(Equal("ConfigMap"))
		g.Expect(owner.UID).To(Equal(cm.UID))
		tmpl, _, _ := unstructured.NestedMap(fcm.Object, "spec", "template")
		g.Expect(tmpl).To(Equal(map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "shop"}}, "data": map[string]any{"color": "blue"}}),
			"the template is the object without its server-set metadata and the federate label")
		placement, _, _ := unstructured.NestedMap(fcm.Object, "spec", "placement")
		g.Expect(placement).To(Equal(map[string]any{"clusterSelector": map[string]any{"matchLabels": map[string]any{}}}))

		for _, gvk := range []schema.GroupVersionKind{federatedConfigMapGVK, federatedDeployGVK} {
			name := map[schema.GroupVersionKind]string{federatedConfigMapGVK: "settings", federatedDeployGVK: "web"}[gvk]
			g.Eventually(func() ([]string, error) {
				st, err := fedStatus(t.Context(), host, gvk, autoNS, name)
				return append(clusterStatuses(st), propagation(st)), err
			}).WithTimeout(wait).WithPolling(poll).Should(Equal(everywhere), "%s %s", gvk.Kind, name)
		}
		// The host's own objects, which are the member host's too, were never written.
		got := &corev1.ConfigMap{}
		g.Expect(host.Get(t.Context(), client.ObjectKey{Namespace: autoNS, Name: "settings"}, got)).To(Succeed())
		g.Expect(got.Labels).NotTo(HaveKey(contract.ManagedLabel))
		g.Expect(got.Annotations).NotTo(HaveKey(contract.ControlPlaneAnnotation))
		g.Expect(got.ResourceVersion).To(Equal(cm.ResourceVersion))
		g.Eventually(fedEvents(t, host, autoNS, "ConfigMap", "settings")).WithTimeout(wait).WithPolling(poll).Should(
			ContainElement("Federated: Created FederatedConfigMap " + autoNS + "/settings"))
	})

	t.Run("changing the Deployment's image on the host changes it in every member", func(t *testing.T) {
		g := NewWithT(t)
		setImage(t, host, "web", "nginx:1.1")
		for _, m := range members {
			g.Eventually(memberImage(t, m)).WithTimeout(wait).WithPolling(poll).Should(Equal("nginx:1.1"))
		}
		g.Expect(memberImage(t, host)()).To(Equal("nginx:1.1"), "the host's own Deployment")
	})

	t.Run("overrides and placement written by hand on the generated object stay across template updates", func(t *testing.T) {
		g := NewWithT(t)
		fd, err := framework.GetObject(t.Context(), host, federatedDeployGVK, autoNS, "web")
		g.Expect(err).NotTo(HaveOccurred())
		patch := client.MergeFrom(fd.DeepCopy())
		fd.Object["spec"].(map[string]any)["overrides"] = []any{map[string]any{
			"clusterName": "cce", "clusterOverrides": []any{map[string]any{"path": "/spec/replicas", "value": int64(3)}},
		}}
		g.Expect(host.Patch(t.Context(), fd, patch, client.FieldOwner("kubectl-edit"))).To(Succeed())
		fcm, err := framework.GetObject(t.Context(), host, federatedConfigMapGVK, autoNS, "settings")
		g.Expect(err).NotTo(HaveOccurred())
		patch = client.MergeFrom(fcm.DeepCopy())
		fcm.Object["spec"].(map[string]any)["placement"] = map[string]any{"clusters": []any{map[string]any{"name": "cce"}}}
		g.Expect(host.Patch(t.Context(), fcm, patch, client.FieldOwner("kubectl-edit"))).To(Succeed())

		setImage(t, host, "web", "nginx:1.2")
		cm := &corev1.ConfigMap{}
		g.Expect(host.Get(t.Context(), client.ObjectKey{Namespace: autoNS, Name: "settings"}, cm)).To(Succeed())
		cm.Data["color"] = "red"
		g.Expect(host.Update(t.Context(), cm)).To(Succeed())

		g.Eventually(memberImage(t, cce)).WithTimeout(wait).WithPolling(poll).Should(Equal("nginx:1.2"))
		g.Eventually(func() (int32, error) {
			d := &appsv1.Deployment{}
			err := cce.Get(t.Context(), client.ObjectKey{Namespace: autoNS, Name: "web"}, d)
			return ptr.Deref(d.Spec.Replicas, 0), err
		}).WithTimeout(wait).WithPolling(poll).Should(BeEquivalentTo(3))
		g.Eventually(memberConfigMapData(t, cce, "settings")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]string{"color": "red"}))
		fd, err = framework.GetObject(t.Context(), host, federatedDeployGVK, autoNS, "web")
		g.Expect(err).NotTo(HaveOccurred())
		overrides, _, _ := unstructured.NestedSlice(fd.Object, "spec", "overrides")
		g.Expect(overrides).To(HaveLen(1))
		fcm, err = framework.GetObject(t.Context(), host, federatedConfigMapGVK, autoNS, "settings")
		g.Expect(err).NotTo(HaveOccurred())
		placement, _, _ := unstructured.NestedMap(fcm.Object, "spec", "placement")
		g.Expect(placement).To(Equal(map[string]any{"clusters": []any{map[string]any{"name": "cce"}}}))
		g.Eventually(func() ([]string, error) {
			st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, autoNS, "settings")
			return clusterStatuses(st), err
		}).WithTimeout(wait).WithPolling(poll).Should(Equal([]string{"cce="}))
	})

	t.Run("the placement annotation places the object; a bad one is told in an event and nothing is federated", func(t *testing.T) {
		g := NewWithT(t)
		regional := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "regional", Namespace: autoNS, Labels: labelled,
			Annotations: map[string]string{contract.PlacementAnnotation: `{"clusterSelector": {"matchLabels": {"region": "lab-cce"}}}`}}, Data: map[string]string{"a": "b"}}
		bad := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "misplaced", Namespace: autoNS, Labels: labelled,
			Annotations: map[string]string{contract.PlacementAnnotation: `{"clusters": ["Not_A_Cluster"]}`}}}
		g.Expect(host.Create(t.Context(), regional)).To(Succeed())
		g.Expect(host.Create(t.Context(), bad)).To(Succeed())
		g.Eventually(func() ([]string, error) {
			st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, autoNS, "regional")
			return clusterStatuses(st), err
		}).WithTimeout(wait).WithPolling(poll).Should(Equal([]string{"cce="}))
		g.Eventually(fedEvents(t, host, autoNS, "ConfigMap", "misplaced")).WithTimeout(wait).WithPolling(poll).Should(ContainElement(
			`InvalidPlacement: Not federated: annotation fedplane.io/placement: clusters[0]: "Not_A_Cluster" is not a cluster name: ` +
				`a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`))
		got, err := framework.GetObject(t.Context(), host, federatedConfigMapGVK, autoNS, "misplaced")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(BeNil())
	})

	t.Run("a federated object written by the user is never overwritten; the event names it", func(t *testing.T) {
		g := NewWithT(t)
		mine := configMap(autoNS, "mine", map[string]any{"owner": "user"}, "cce")
		framework.ApplyObject(t, host, mine)
		g.Expect(host.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: autoNS, Labels: labelled},
			Data: map[string]string{"owner": "label"}})).To(Succeed())
		g.Eventually(fedEvents(t, host, autoNS, "ConfigMap", "mine")).WithTimeout(wait).WithPolling(poll).Should(ContainElement(
			"FederatedObjectConflict: FederatedConfigMap " + autoNS + "/mine exists and was not generated from this object; it is left as it is, and this object is not federated"))
		got, err := framework.GetObject(t.Context(), host, federatedConfigMapGVK, autoNS, "mine")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got.GetOwnerReferences()).To(BeEmpty())
		data, _, _ := unstructured.NestedStringMap(got.Object, "spec", "template", "data")
		g.Expect(data).To(Equal(map[string]string{"owner": "user"}))
		g.Eventually(memberConfigMapData(t, cce, "mine")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]string{"owner": "user"}))
	})

	t.Run("a labelled cluster-scoped ClusterRole reaches the members, and goes with the host object", func(t *testing.T) {
		g := NewWithT(t)
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-auto-reader", Labels: labelled},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}}
		g.Expect(host.Create(t.Context(), role)).To(Succeed())
		t.Cleanup(func() { _ = host.Delete(context.Background(), role) })
		g.Eventually(func() ([]rbacv1.PolicyRule, error) {
			got := &rbacv1.ClusterRole{}
			err := cce.Get(t.Context(), client.ObjectKey{Name: role.Name}, got)
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			return got.Rules, err
		}).WithTimeout(wait).WithPolling(poll).Should(Equal(role.Rules))
		// Deleting the host object deletes the federated object and so the copy, with or
		// without a garbage collector on the host.
		g.Expect(host.Delete(t.Context(), role)).To(Succeed())
		g.Eventually(func() (bool, error) {
			err := cce.Get(t.Context(), client.ObjectKey{Name: role.Name}, &rbacv1.ClusterRole{})
			return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
		}).WithTimeout(wait).WithPolling(poll).Should(BeTrue())
	})

	t.Run("removing the label deletes the federated object and the copies, never the host's own object", func(t *testing.T) {
		g := NewWithT(t)
		unlabel(t, host, &appsv1.Deployment{}, "web", nil)
		for _, m := range members {
			g.Eventually(memberImage(t, m)).WithTimeout(wait).WithPolling(poll).Should(BeEmpty())
		}
		g.Eventually(func() (*unstructured.Unstructured, error) {
			return framework.GetObject(t.Context(), host, federatedDeployGVK, autoNS, "web")
		}).WithTimeout(wait).WithPolling(poll).Should(BeNil())
		g.Expect(memberImage(t, host)()).To(Equal("nginx:1.2"), "the host's own Deployment, the member host's too, stays as it was")
		g.Eventually(fedEvents(t, host, autoNS, "Deployment", "web")).WithTimeout(wait).WithPolling(poll).Should(ContainElement(
			"Unfederated: Deleted FederatedDeployment " + autoNS + "/web; its copies are deleted"))
	})

	t.Run("with orphan-on-unfederate, removing the label keeps the copies, without the managed label", func(t *testing.T) {
		g := NewWithT(t)
		unlabel(t, host, &corev1.ConfigMap{}, "settings", map[string]string{contract.OrphanOnUnfederateAnnotation: "true"})
		g.Eventually(func() (*unstructured.Unstructured, error) {
			return framework.GetObject(t.Context(), host, federatedConfigMapGVK, autoNS, "settings")
		}).WithTimeout(wait).WithPolling(poll).Should(BeNil())
		kept := &corev1.ConfigMap{}
		g.Expect(cce.Get(t.Context(), client.ObjectKey{Namespace: autoNS, Name: "settings"}, kept)).To(Succeed())
		g.Expect(kept.Data).To(Equal(map[string]string{"color": "red"}))
		g.Expect(kept.Labels).NotTo(HaveKey(contract.ManagedLabel))
	})

	t.Run("what changed while fed-controller was killed (-9) is caught up when it starts again", func(t *testing.T) {
		g := NewWithT(t)
		for _, name := range []string{"late-unlabelled", "late-deleted"} {
			g.Expect(host.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: autoNS, Labels: labelled},
				Data: map[string]string{"a": "b"}})).To(Succeed())
			g.Eventually(memberConfigMapData(t, cce, name)).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]string{"a": "b"}))
		}
		fed.Controller.Stop()
		unlabel(t, host, &corev1.ConfigMap{}, "late-unlabelled", nil)
		g.Expect(host.Delete(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: autoNS, Name: "late-deleted"}})).To(Succeed())
		g.Expect(host.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late-labelled", Namespace: autoNS, Labels: labelled},
			Data: map[string]string{"c": "d"}})).To(Succeed())
		// It runs for the rest of the test, not only this subtest.
		framework.StartController(outer, controllerBinary, lab.Host(), "fedplane-auto", autoFederate)
		for _, m := range members {
			g.Eventually(memberConfigMapData(t, m, "late-labelled")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]string{"c": "d"}))
			for _, name := range []string{"late-unlabelled", "late-deleted"} {
				g.Eventually(memberConfigMapData(t, m, name)).WithTimeout(wait).WithPolling(poll).Should(BeNil(), name)
			}
		}
		for _, name := range []string{"late-unlabelled", "late-deleted"} {
			g.Eventually(func() (*unstructured.Unstructured, error) {
				return framework.GetObject(t.Context(), host, federatedConfigMapGVK, autoNS, name)
			}).WithTimeout(wait).WithPolling(poll).Should(BeNil(), name)
		}
		g.Expect(host.Get(t.Context(), client.ObjectKey{Namespace: autoNS, Name: "late-unlabelled"}, &corev1.ConfigMap{})).To(Succeed())
	})

	t.Run("deleting the labelled host object deletes its federated object and the copies", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(host.Delete(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: autoNS, Name: "regional"}})).To(Succeed())
		g.Eventually(memberConfigMapData(t, cce, "regional")).WithTimeout(wait).WithPolling(poll).Should(BeNil())
		g.Eventually(func() (*unstructured.Unstructured, error) {
			return framework.GetObject(t.Context(), host, federatedConfigMapGVK, autoNS, "regional")
		}).WithTimeout(wait).WithPolling(poll).Should(BeNil())
	})
}

// autoDeployment is a labelled host Deployment of one container.
func autoDeployment(name, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: autoNS, Labels: map[string]string{contract.FederateLabel: contract.FederateLabelValue}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: image}}},
			},
		},
	}
}

// unlabel removes the federate label from the host object name of autoNS, read into obj, and
// sets the annotations.
func unlabel(t *testing.T, host client.Client, obj client.Object, name string, annotations map[string]string) {
	t.Helper()
	if err := host.Get(t.Context(), client.ObjectKey{Namespace: autoNS, Name: name}, obj); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	labels := obj.GetLabels()
	delete(labels, contract.FederateLabel)
	obj.SetLabels(labels)
	if annotations != nil {
		obj.SetAnnotations(annotations)
	}
	if err := host.Patch(t.Context(), obj, patch); err != nil {
		t.Fatal(err)
	}
}

// setImage sets the image of a host Deployment of autoNS.
func setImage(t *testing.T, host client.Client, name, image string) {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := host.Get(t.Context(), client.ObjectKey{Namespace: autoNS, Name: name}, d); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(d.DeepCopy())
	d.Spec.Template.Spec.Containers[0].Image = image
	if err := host.Patch(t.Context(), d, patch); err != nil {
		t.Fatal(err)
	}
}

// memberImage returns the image of the Deployment web of autoNS in a member, "" when there is none.
func memberImage(t *testing.T, member client.Client) func() (string, error) {
	return func() (string, error) {
		d := &appsv1.Deployment{}
		err := member.Get(t.Context(), types.NamespacedName{Namespace: autoNS, Name: "web"}, d)
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		if err != nil || len(d.Spec.Template.Spec.Containers) == 0 {
			return "", err
		}
		return d.Spec.Template.Spec.Containers[0].Image, nil
	}
}

// memberConfigMapData returns the data of a member ConfigMap of autoNS, nil when there is none.
func memberConfigMapData(t *testing.T, member client.Client, name string) func() (map[string]string, error) {
	return func() (map[string]string, error) {
		cm := &corev1.ConfigMap{}
		err := member.Get(t.Context(), types.NamespacedName{Namespace: autoNS, Name: name}, cm)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return cm.Data, err
	}
}
