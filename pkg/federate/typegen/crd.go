package typegen

import (
	"fmt"
	"strings"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// ParseBaseCRD decodes the CRD generated from the shared federated shape (config.FederatedBaseCRD).
func ParseBaseCRD(data []byte) (*apiextv1.CustomResourceDefinition, error) {
	var crd apiextv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		return nil, fmt.Errorf("failed to decode the federated base CRD: %w", err)
	}
	if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Schema == nil || crd.Spec.Versions[0].Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("the federated base CRD must have one version with a schema")
	}
	spec, ok := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	if !ok {
		return nil, fmt.Errorf("the federated base CRD has no spec")
	}
	if _, ok := spec.Properties["template"]; !ok {
		return nil, fmt.Errorf("the federated base CRD has no spec.template")
	}
	return &crd, nil
}

// CRD returns the CRD of the target's federated type: the base frame with the federated type's
// group, version and names, the target's scope and template schema, printer columns, and
// spec.retainReplicas for scalable targets.
func CRD(base *apiextv1.CustomResourceDefinition, t Target, template *apiextv1.JSONSchemaProps) *apiextv1.CustomResourceDefinition {
	crd := base.DeepCopy()
	crd.TypeMeta = metav1.TypeMeta{APIVersion: apiextv1.SchemeGroupVersion.String(), Kind: "CustomResourceDefinition"}
	crd.ObjectMeta = metav1.ObjectMeta{Name: t.FederatedCRDName()}
	crd.Spec.Group = t.FederatedGroupVersion().Group
	crd.Spec.Names = apiextv1.CustomResourceDefinitionNames{
		Kind:       t.FederatedKind(),
		ListKind:   t.FederatedKind() + "List",
		Plural:     t.FederatedPlural(),
		Singular:   "federated" + strings.ToLower(t.Kind),
		ShortNames: t.ShortNames,
		Categories: []string{"federated"},
	}
	crd.Spec.Scope = apiextv1.ClusterScoped
	if t.FederatedNamespaced() {
		crd.Spec.Scope = apiextv1.NamespaceScoped
	}
	version := &crd.Spec.Versions[0]
	version.Name = t.FederatedGroupVersion().Version
	root := version.Schema.OpenAPIV3Schema
	root.Description = fmt.Sprintf("%s propagates a %s (%s) to the member clusters that its placement selects, with per-cluster overrides.", t.FederatedKind(), t.Kind, t.GroupVersion())
	spec := root.Properties["spec"]
	tmpl := *template.DeepCopy()
	tmpl.Description = fmt.Sprintf("Template is the %s to create in each selected member cluster; its name and namespace are the federated object's.", t.Kind)
	spec.Properties["template"] = tmpl
	if scalable(template) {
		spec.Properties["retainReplicas"] = apiextv1.JSONSchemaProps{
			Type:        "boolean",
			Description: "RetainReplicas keeps the replicas that members set themselves (for example through an autoscaler) instead of the template's.",
		}
	}
	root.Properties["spec"] = spec
	version.AdditionalPrinterColumns = nil
	if scalable(template) {
		version.AdditionalPrinterColumns = []apiextv1.CustomResourceColumnDefinition{
			{Name: "Desired", Type: "integer", JSONPath: ".status.replicas", Description: "Replicas the selected Ready clusters are asked to run, summed."},
			{Name: "Ready", Type: "integer", JSONPath: ".status.readyReplicas", Description: "Ready replicas that the member objects of those clusters report, summed."},
			{Name: "Stale", Type: "integer", JSONPath: ".status.staleReplicas", Description: "Replicas that member objects still hold in clusters that are not Ready, summed."},
		}
	}
	version.AdditionalPrinterColumns = append(version.AdditionalPrinterColumns, []apiextv1.CustomResourceColumnDefinition{
		{Name: "Propagated", Type: "string", JSONPath: `.status.conditions[?(@.type=="Propagation")].status`, Description: "Whether the object is propagated to every selected cluster."},
		{Name: "Reason", Type: "string", JSONPath: `.status.conditions[?(@.type=="Propagation")].reason`, Description: "Why it is not."},
		{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
	}...)
	return crd
}

// scalable reports whether the template has an integer spec.replicas.
func scalable(template *apiextv1.JSONSchemaProps) bool {
	spec, ok := template.Properties["spec"]
	if !ok {
		return false
	}
	r, ok := spec.Properties["replicas"]
	return ok && r.Type == "integer"
}

// MarshalYAML encodes a generated object as a manifest: without status or server-set fields.
func MarshalYAML(obj any) ([]byte, error) {
	b, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return yaml.Marshal(m)
}
