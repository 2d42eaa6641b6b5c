package propagation_test

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

var widgetGVK = schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}

// widgetCRD is a small custom resource type to federate.
func widgetCRD() *apiextv1.CustomResourceDefinition {
	return &apiextv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextv1.CustomResourceDefinitionSpec{
			Group: "example.com", Scope: apiextv1.NamespaceScoped,
			Names: apiextv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{"size": {Type: "integer"}}},
					},
				}},
			}},
		},
	}
}

// federatedWidgetCRD is the federated type of Widget, with the shared federated frame.
func federatedWidgetCRD() *apiextv1.CustomResourceDefinition {
	open := apiextv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}
	return &apiextv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "federatedwidgets.types.kubefed.io"},
		Spec: apiextv1.CustomResourceDefinitionSpec{
			Group: "types.kubefed.io", Scope: apiextv1.NamespaceScoped,
			Names: apiextv1.CustomResourceDefinitionNames{Plural: "federatedwidgets", Singular: "federatedwidget", Kind: "FederatedWidget", ListKind: "FederatedWidgetList"},
			Versions: []apiextv1.CustomResourceDefinitionVersion{{
				Name: "v1beta1", Served: true, Storage: true,
				Subresources: &apiextv1.CustomResourceSubresources{Status: &apiextv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{
					Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{"spec": open, "status": open},
				}},
			}},
		},
	}
}

// knowCRDs registers the CustomResourceDefinition types in the clients' schemes.
func knowCRDs(t *testing.T, clients ...client.Client) {
	t.Helper()
	for _, c := range clients {
		if !c.Scheme().IsGroupRegistered(apiextv1.GroupName) {
			NewWithT(t).Expect(apiextv1.AddToScheme(c.Scheme())).To(Succeed())
		}
	}
}

func createCRD(t *testing.T, c client.Client, crd *apiextv1.CustomResourceDefinition) {
	t.Helper()
	if err := c.Create(t.Context(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	NewWithT(t).Eventually(func() bool {
		got := &apiextv1.CustomResourceDefinition{}
		if c.Get(t.Context(), client.ObjectKey{Name: crd.Name}, got) != nil {
			return false
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == apiextv1.Established && cond.Status == apiextv1.ConditionTrue {
				return true
			}
		}
		return false
	}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "CRD %s established", crd.Name)
	// Established does not mean that discovery serves every version yet: wait until the
	// client maps each one, so that the first write of an object of the kind finds it.
	gk := schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}
	for _, v := range crd.Spec.Versions {
		NewWithT(t).Eventually(func() error {
			_, err := c.RESTMapper().RESTMapping(gk, v.Name)
			return err
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), "%s/%s served", crd.Name, v.Name)
	}
}

// testCustomResourceType federates a CRD's kind, enabled at run time.
func testCustomResourceType(t *testing.T, host client.Client, members map[string]client.Client) {
	g := NewWithT(t)
	knowCRDs(t, host)
	for _, mc := range members {
		knowCRDs(t, mc)
		createCRD(t, mc, widgetCRD())
	}
	createCRD(t, host, widgetCRD())
	createCRD(t, host, federatedWidgetCRD())
	ftc := &corev1beta1.FederatedTypeConfig{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com", Namespace: ns},
		Spec: corev1beta1.FederatedTypeConfigSpec{
			TargetType:    corev1beta1.APIResource{Group: "example.com", Version: "v1", Kind: "Widget", PluralName: "widgets", Scope: corev1beta1.NamespaceScoped},
			FederatedType: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedWidget", PluralName: "federatedwidgets", Scope: corev1beta1.NamespaceScoped},
			Propagation:   corev1beta1.PropagationEnabled,
		},
	}
	g.Expect(host.Create(t.Context(), ftc)).To(Succeed())
	g.Eventually(func() (corev1beta1.ControllerStatus, error) {
		err := host.Get(t.Context(), client.ObjectKeyFromObject(ftc), ftc)
		return ftc.Status.PropagationController, err
	}).WithTimeout(wait).WithPolling(poll).Should(Equal(corev1beta1.ControllerStatusRunning))
	framework.ApplyObject(t, host, fedObject(t, `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedWidget
metadata: {name: gear, namespace: e2e-types}
spec:
  template: {spec: {size: 3}}
  placement: {clusters: [{name: local}, {name: cce}]}
  overrides:
  - clusterName: cce
    clusterOverrides: [{path: /spec/size, value: 7}]
`))
	for name, want := range map[string]int64{"local": 3, "cce": 7} {
		g.Eventually(func() (int64, error) {
			w, err := framework.GetObject(t.Context(), members[name], widgetGVK, "e2e-types", "gear")
			if err != nil || w == nil {
				return 0, err
			}
			size, _, _ := unstructured.NestedInt64(w.Object, "spec", "size")
			return size, nil
		}).WithTimeout(wait).WithPolling(poll).Should(Equal(want), "widget in %s", name)
	}
}

// testFencing runs a second control plane, with its own host (host2) and id, against the
// member local, where the first control plane already manages test-namespace and its
// Deployment test-deployment.
func testFencing(t *testing.T, hostA client.Client, local client.Client) {
	g := NewWithT(t)
	host2 := framework.InstallHost(t, lab.Cluster("host2"))
	framework.RegisterMember(t, host2, lab.Cluster("local"), nil)
	ctrlB := framework.StartController(t, controllerBinary, lab.Cluster("host2"), "fedplane-b")
	federateNamespace(t, host2, "test-namespace", "local")
	framework.ApplyObject(t, host2, fedObject(t, `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata: {name: test-deployment, namespace: test-namespace}
spec:
  template:
    spec:
      replicas: 7
      selector: {matchLabels: {app: other}}
      template:
        metadata: {labels: {app: other}}
        spec: {containers: [{name: c, image: busybox}]}
  placement: {clusters: [{name: local}]}
`))
	g.Eventually(func(g Gomega) {
		st, err := fedStatus(t.Context(), host2, federatedDeployGVK, "test-namespace", "test-deployment")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(clusterStatuses(st)).To(Equal([]string{"local=" + string(typesv1beta1.ManagedByAnotherControlPlane)}))
		g.Expect(propagation(st)).To(Equal("False/CheckClusters"))
		st, err = fedStatus(t.Context(), host2, federatedNamespaceGVK, "test-namespace", "test-namespace")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(clusterStatuses(st)).To(Equal([]string{"local=" + string(typesv1beta1.ManagedByAnotherControlPlane)}))
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	d, err := framework.GetObject(t.Context(), local, deploymentGVK, "test-namespace", "test-deployment")
	g.Expect(err).NotTo(HaveOccurred())
	rv := d.GetResourceVersion()
	g.Consistently(func() (string, error) {
		d, err := framework.GetObject(t.Context(), local, deploymentGVK, "test-namespace", "test-deployment")
		if err != nil || d == nil {
			return "", err
		}
		return d.GetResourceVersion(), nil
	}).WithTimeout(10*time.Second).WithPolling(500*time.Millisecond).Should(Equal(rv), "the member object stays as the first control plane wrote it")
	replicas, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	g.Expect(replicas).To(BeEquivalentTo(3))
	g.Expect(d.GetAnnotations()).To(HaveKeyWithValue("fedplane.io/control-plane-id", "fedplane-a"))
	_, writes := ctrlB.MemberWrites(t)
	g.Expect(writes).To(BeZero(), "the second control plane wrote nothing to the member")
	// The first control plane still reports success in the contested cluster, and overall
	// once every cluster is Ready: on a loaded machine cce's one-second health probe can time
	// out and make it briefly not Ready, which has nothing to do with the contest.
	st, err := fedStatus(t.Context(), hostA, federatedDeployGVK, "test-namespace", "test-deployment")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(clusterStatuses(st)).To(ContainElement("local="), "the first control plane's status in the contested cluster")
	g.Eventually(func(g Gomega) {
		st, err := fedStatus(t.Context(), hostA, federatedDeployGVK, "test-namespace", "test-deployment")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(propagation(st)).To(Equal("True/"), "the first control plane's statuses: %v", clusterStatuses(st))
	}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
}

// testStoppedMember stops cce's API server while 50 federated objects are created.
func testStoppedMember(t *testing.T, host client.Client, members map[string]client.Client, cce *framework.Cluster) {
	g := NewWithT(t)
	federateNamespace(t, host, "e2e-stop", "local", "cce")
	nsGVK := schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	g.Eventually(presence(t, members, nsGVK, "", "e2e-stop")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]bool{"local": true, "cce": true}))

	g.Expect(cce.StopAPIServer()).To(Succeed())
	stopped := true
	t.Cleanup(func() {
		if stopped {
			_ = cce.ContinueAPIServer()
		}
	})
	const n = 50
	start := time.Now()
	for i := range n {
		framework.ApplyObject(t, host, configMap("e2e-stop", fmt.Sprintf("cm-%02d", i), map[string]any{"i": fmt.Sprint(i)}, "local", "cce"))
	}
	count := func(c client.Client) func() (int, error) {
		return func() (int, error) {
			list := &corev1.ConfigMapList{}
			if err := c.List(t.Context(), list, client.InNamespace("e2e-stop"), client.MatchingLabels{"kubefed.io/managed": "true"}); err != nil {
				return 0, err
			}
			return len(list.Items), nil
		}
	}
	// Waiting on cce, even one member timeout (2 s) per object with 4 workers, would take
	// 25 s or more.
	g.Eventually(count(members["local"])).WithTimeout(10 * time.Second).WithPolling(poll).Should(Equal(n))
	t.Logf("local has all %d objects %v after the first was created, with cce stopped", n, time.Since(start).Round(time.Millisecond))
	// The status is written whole once cce's answer (here: its timeout) is in.
	g.Eventually(func() (string, error) {
		st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, "e2e-stop", "cm-49")
		return propagation(st), err
	}).WithTimeout(10*time.Second).WithPolling(poll).Should(Equal("False/CheckClusters"), "cce is reported, not silently skipped")

	g.Expect(cce.ContinueAPIServer()).To(Succeed())
	stopped = false
	resumed := time.Now()
	g.Eventually(count(members["cce"])).WithTimeout(60 * time.Second).WithPolling(poll).Should(Equal(n))
	t.Logf("cce caught up with all %d objects %v after SIGCONT", n, time.Since(resumed).Round(time.Millisecond))
	g.Eventually(func() (string, error) {
		st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, "e2e-stop", "cm-49")
		return propagation(st), err
	}).WithTimeout(wait).WithPolling(poll).Should(Equal("True/"))
}
