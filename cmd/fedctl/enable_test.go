package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/manifests"
)

// hostAPI installs fedplane's API in the lab's host and returns a client for it.
func hostAPI(t *testing.T) client.Client {
	t.Helper()
	framework.Require(t, lab)
	c, err := lab.Host().InstallAPI(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := apiextv1.AddToScheme(c.Scheme()); err != nil {
		t.Fatal(err)
	}
	return c
}

// onHost runs a fedctl command against the lab's host and returns its output, its error output
// and its error.
func onHost(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCommand(&out, &errOut)
	cmd.SetArgs(append(args, "--kubeconfig", lab.KubeconfigPath(), "--context", "host"))
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// createCRD creates a namespaced custom resource type in the host and waits until it is served.
func createCRD(t *testing.T, c client.Client, group, kind, plural string, spec apiextv1.JSONSchemaProps) {
	t.Helper()
	crd := &apiextv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
		Spec: apiextv1.CustomResourceDefinitionSpec{
			Group: group,
			Names: apiextv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: plural, Singular: strings.ToLower(kind)},
			Scope: apiextv1.NamespaceScoped,
			Versions: []apiextv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{
					Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{"spec": spec},
				}},
			}},
		},
	}
	if err := c.Create(t.Context(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	NewWithT(t).Eventually(func() bool {
		_ = c.Get(t.Context(), client.ObjectKey{Name: crd.Name}, crd)
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextv1.Established && cond.Status == apiextv1.ConditionTrue {
				return true
			}
		}
		return false
	}).WithTimeout(30 * time.Second).Should(BeTrue())
	// Established does not mean discovery lists the type yet, and fedctl resolves TYPE through
	// discovery: wait until it does, as a user running the commands one after the other would.
	dc, err := discovery.NewDiscoveryClientForConfig(lab.Host().RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	NewWithT(t).Eventually(func() error {
		list, err := dc.ServerResourcesForGroupVersion(group + "/v1")
		if err != nil {
			return err
		}
		for _, r := range list.APIResources {
			if r.Name == plural {
				return nil
			}
		}
		return fmt.Errorf("discovery of %s/v1 does not list %s yet", group, plural)
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

// widgetSpec is the spec schema of the tests' custom resources.
var widgetSpec = apiextv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{
	"size":  {Type: "integer"},
	"color": {Type: "string", Enum: []apiextv1.JSON{{Raw: []byte(`"red"`)}, {Raw: []byte(`"blue"`)}}},
}}

// federatedCRD reads a federated CRD and returns it with the properties of its template's spec.
func federatedCRD(t *testing.T, c client.Client, name string) (*apiextv1.CustomResourceDefinition, map[string]apiextv1.JSONSchemaProps) {
	t.Helper()
	crd := &apiextv1.CustomResourceDefinition{}
	if err := c.Get(t.Context(), client.ObjectKey{Name: name}, crd); err != nil {
		t.Fatalf("CRD %s: %v", name, err)
	}
	tmpl := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["template"]
	return crd, tmpl.Properties["spec"].Properties
}

func TestEnable(t *testing.T) {
	c := hostAPI(t)
	ftcOf := func(g Gomega, name string) *corev1beta1.FederatedTypeConfig {
		ftc := &corev1beta1.FederatedTypeConfig{}
		g.Expect(c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, ftc)).To(Succeed())
		return ftc
	}

	t.Run("a built-in type without a default federated type, by plural", func(t *testing.T) {
		g := NewWithT(t)
		out, _, err := onHost(t, "enable", "limitranges")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("CustomResourceDefinition federatedlimitranges.types.kubefed.io applied"))
		crd, spec := federatedCRD(t, c, "federatedlimitranges.types.kubefed.io")
		g.Expect(spec).To(HaveKey("limits"))
		g.Expect(spec["limits"].Items.Schema.Properties).To(HaveKey("defaultRequest"))
		g.Expect(crd.Spec.Names.ShortNames).To(Equal([]string{"flimits"}))
		g.Expect(crd.Status.Conditions).To(ContainElement(And(
			HaveField("Type", apiextv1.Established), HaveField("Status", apiextv1.ConditionTrue))))
		g.Expect(ftcOf(g, "limitranges").Spec).To(Equal(corev1beta1.FederatedTypeConfigSpec{
			TargetType:  corev1beta1.APIResource{Version: "v1", Kind: "LimitRange", PluralName: "limitranges", Scope: corev1beta1.NamespaceScoped},
			Propagation: corev1beta1.PropagationEnabled,
			FederatedType: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedLimitRange",
				PluralName: "federatedlimitranges", Scope: corev1beta1.NamespaceScoped},
		}))
	})

	t.Run("a built-in type of a group, by kind", func(t *testing.T) {
		g := NewWithT(t)
		_, _, err := onHost(t, "enable", "PodDisruptionBudget")
		g.Expect(err).NotTo(HaveOccurred())
		_, spec := federatedCRD(t, c, "federatedpoddisruptionbudgets.types.kubefed.io")
		g.Expect(spec).To(HaveKey("minAvailable"))
		g.Expect(spec["minAvailable"].XIntOrString).To(BeTrue())
		ftc := ftcOf(g, "poddisruptionbudgets.policy")
		g.Expect(ftc.Spec.TargetType).To(Equal(corev1beta1.APIResource{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget", PluralName: "poddisruptionbudgets", Scope: corev1beta1.NamespaceScoped}))
		g.Expect(ftc.Spec.FederatedType.Kind).To(Equal("FederatedPodDisruptionBudget"))
	})

	t.Run("a custom resource type, and again without changes", func(t *testing.T) {
		g := NewWithT(t)
		createCRD(t, c, "example.com", "Widget", "widgets", widgetSpec)
		_, _, err := onHost(t, "enable", "widgets.example.com")
		g.Expect(err).NotTo(HaveOccurred())
		crd, spec := federatedCRD(t, c, "federatedwidgets.types.kubefed.io")
		g.Expect(spec).To(HaveKeyWithValue("size", HaveField("Type", "integer")))
		g.Expect(spec).To(HaveKeyWithValue("color", HaveField("Enum", HaveLen(2))))
		ftc := ftcOf(g, "widgets.example.com")
		g.Expect(ftc.Spec.TargetType).To(Equal(corev1beta1.APIResource{Group: "example.com", Version: "v1", Kind: "Widget", PluralName: "widgets", Scope: corev1beta1.NamespaceScoped}))
		g.Expect(ftc.Spec.FederatedType).To(Equal(corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedWidget", PluralName: "federatedwidgets", Scope: corev1beta1.NamespaceScoped}))

		// A federated object with a template that breaks the target's schema is refused.
		a, err := framework.NewApplier(lab.Host().RESTConfig())
		g.Expect(err).NotTo(HaveOccurred())
		bad, err := manifests.Decode([]byte(`{apiVersion: types.kubefed.io/v1beta1, kind: FederatedWidget, metadata: {name: w, namespace: default},
  spec: {template: {spec: {size: big}}, placement: {clusters: []}}}`))
		g.Expect(err).NotTo(HaveOccurred())
		_, err = a.Create(t.Context(), bad[0])
		g.Expect(err).To(MatchError(ContainSubstring("spec.template.spec.size")))

		_, _, err = onHost(t, "enable", "widgets.example.com")
		g.Expect(err).NotTo(HaveOccurred())
		again, _ := federatedCRD(t, c, "federatedwidgets.types.kubefed.io")
		g.Expect(again.Generation).To(Equal(crd.Generation), "the CRD is unchanged")
		g.Expect(ftcOf(g, "widgets.example.com").Generation).To(Equal(ftc.Generation), "the FederatedTypeConfig is unchanged")
	})

	t.Run("a second type with the same plural needs a federated group of its own", func(t *testing.T) {
		g := NewWithT(t)
		createCRD(t, c, "example.com", "Deployment", "deployments", widgetSpec)
		_, _, err := onHost(t, "enable", "deployments.example.com")
		g.Expect(err).To(MatchError(ContainSubstring("CustomResourceDefinition federateddeployments.types.kubefed.io is the federated type of FederatedTypeConfig kube-federation-system/deployments.apps")))
		_, _, err = onHost(t, "enable", "deployments.example.com", "--federated-group", "federation.example.com", "--federated-version", "v1")
		g.Expect(err).NotTo(HaveOccurred())
		_, spec := federatedCRD(t, c, "federateddeployments.federation.example.com")
		g.Expect(spec).To(HaveKey("size"))
		g.Expect(ftcOf(g, "deployments.example.com").Spec.FederatedType).To(Equal(corev1beta1.APIResource{
			Group: "federation.example.com", Version: "v1", Kind: "FederatedDeployment", PluralName: "federateddeployments", Scope: corev1beta1.NamespaceScoped}))
		_, _, err = onHost(t, "enable", "deployments.example.com")
		g.Expect(err).To(MatchError(ContainSubstring("changing it to federateddeployments.types.kubefed.io/v1beta1 is not supported")))
	})

	t.Run("-o yaml and --dry-run install nothing", func(t *testing.T) {
		g := NewWithT(t)
		out, _, err := onHost(t, "enable", "persistentvolumeclaims", "-o", "yaml")
		g.Expect(err).NotTo(HaveOccurred())
		docs, err := manifests.Decode([]byte(out))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(docs).To(HaveLen(2))
		g.Expect(docs[0].GetKind()).To(Equal("CustomResourceDefinition"))
		g.Expect(docs[0].GetName()).To(Equal("federatedpersistentvolumeclaims.types.kubefed.io"))
		versions, _, _ := unstructured.NestedSlice(docs[0].Object, "spec", "versions")
		g.Expect(versions).To(HaveLen(1))
		_, found, _ := unstructured.NestedMap(versions[0].(map[string]any), "schema", "openAPIV3Schema", "properties", "spec",
			"properties", "template", "properties", "spec", "properties", "resources")
		g.Expect(found).To(BeTrue(), "the template has the PersistentVolumeClaim's spec.resources")
		propagation, _, _ := unstructured.NestedString(docs[1].Object, "spec", "propagation")
		g.Expect(propagation).To(Equal("Enabled"))
		g.Expect(docs[1].GetKind()).To(Equal("FederatedTypeConfig"))
		g.Expect(docs[1].GetName()).To(Equal("persistentvolumeclaims"))
		g.Expect(docs[1].GetNamespace()).To(Equal(ns))

		out, _, err = onHost(t, "enable", "persistentvolumeclaims", "--dry-run")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("(dry run) FederatedTypeConfig kube-federation-system/persistentvolumeclaims applied"))

		err = c.Get(t.Context(), client.ObjectKey{Name: "federatedpersistentvolumeclaims.types.kubefed.io"}, &apiextv1.CustomResourceDefinition{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "CRD: %v", err)
		err = c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "persistentvolumeclaims"}, &corev1beta1.FederatedTypeConfig{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "FederatedTypeConfig: %v", err)
	})

	t.Run("what cannot be enabled is refused, naming it", func(t *testing.T) {
		g := NewWithT(t)
		_, _, err := onHost(t, "enable", "sprockets.example.com")
		g.Expect(err).To(MatchError(ContainSubstring(`the host has no API type named "sprockets.example.com"`)))
		_, _, err = onHost(t, "enable", "federatedconfigmaps")
		g.Expect(err).To(MatchError(ContainSubstring("federatedconfigmaps.types.kubefed.io belongs to the federation API")))
		_, _, err = onHost(t, "enable", "limitranges", "-o", "json")
		g.Expect(err).To(MatchError(ContainSubstring(`invalid --output "json"`)))
		_, _, err = onHost(t, "enable", "limitranges", "--kubefed-namespace", "nowhere")
		g.Expect(err).To(MatchError(ContainSubstring("the host has no namespace nowhere")))
	})
}
