package autofederate

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// serverSetMetadata are the metadata fields that the API server or controllers set, or that
// the federated object decides (name, namespace); they are left out of templates.
var serverSetMetadata = []string{
	"name", "namespace", "generateName", "uid", "resourceVersion", "generation", "creationTimestamp",
	"deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "ownerReferences", "selfLink", "finalizers",
}

// serverSetAnnotations are annotations that tools and controllers write, left out of templates.
// So are the annotations that ask for auto-federation: they are about the host object.
var serverSetAnnotations = []string{
	corev1.LastAppliedConfigAnnotation, "deployment.kubernetes.io/revision",
	contract.PlacementAnnotation, contract.OrphanOnUnfederateAnnotation,
}

// FederatedObject builds the federated object of obj: same name, namespace (a
// FederatedNamespace's is the namespace itself), the template, and a placement that selects
// every cluster.
func FederatedObject(ftc *corev1beta1.FederatedTypeConfig, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	tmpl, err := Template(ftc.Spec.TargetType, obj)
	if err != nil {
		return nil, err
	}
	ft := ftc.Spec.FederatedType
	fed := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"template":  tmpl,
			"placement": map[string]any{"clusterSelector": map[string]any{"matchLabels": map[string]any{}}},
		},
	}}
	fed.SetAPIVersion(ft.Group + "/" + ft.Version)
	fed.SetKind(ft.Kind)
	fed.SetName(obj.GetName())
	if ft.Scope == corev1beta1.NamespaceScoped {
		namespace := obj.GetNamespace()
		if contract.IsNamespace(ftc.Spec.TargetType.Group, ftc.Spec.TargetType.Kind) {
			namespace = obj.GetName()
		}
		fed.SetNamespace(namespace)
	}
	return fed, nil
}

// Template is obj as a federated template: without status, apiVersion, kind, the metadata
// that servers set or that the federated object decides, and the fields of the kind that each
// cluster sets for itself.
func Template(target corev1beta1.APIResource, obj *unstructured.Unstructured) (map[string]any, error) {
	t := obj.DeepCopy().Object
	for _, f := range []string{"apiVersion", "kind", "status"} {
		delete(t, f)
	}
	for _, f := range serverSetMetadata {
		unstructured.RemoveNestedField(t, "metadata", f)
	}
	// Pod templates (Deployments, Jobs, ...) carry a creationTimestamp: null.
	unstructured.RemoveNestedField(t, "spec", "template", "metadata", "creationTimestamp")
	if err := removeKeys(t, "annotations", serverSetAnnotations); err != nil {
		return nil, fmt.Errorf("%s: %w", ref(obj), err)
	}
	if err := removeKeys(t, "labels", []string{contract.FederateLabel}); err != nil {
		return nil, fmt.Errorf("%s: %w", ref(obj), err)
	}
	switch {
	case contract.IsNamespace(target.Group, target.Kind):
		unstructured.RemoveNestedField(t, "spec", "finalizers")
	case target.Group == "" && target.Kind == "ServiceAccount":
		delete(t, "secrets")
	case target.Group == "" && target.Kind == "Service":
		if err := cleanService(t); err != nil {
			return nil, fmt.Errorf("%s: %w", ref(obj), err)
		}
	case target.Group == "batch" && target.Kind == "Job":
		if manual, _, _ := unstructured.NestedBool(t, "spec", "manualSelector"); !manual {
			unstructured.RemoveNestedField(t, "spec", "selector")
			for _, l := range []string{"controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name"} {
				unstructured.RemoveNestedField(t, "spec", "template", "metadata", "labels", l)
			}
		}
	}
	for _, f := range []string{"spec", "metadata"} {
		if m, ok := t[f].(map[string]any); ok && len(m) == 0 {
			delete(t, f)
		}
	}
	return t, nil
}

// cleanService removes what the cluster allocates: cluster IPs (a headless Service keeps its
// None), node ports and the health check node port.
func cleanService(t map[string]any) error {
	if ip, _, _ := unstructured.NestedString(t, "spec", "clusterIP"); ip != corev1.ClusterIPNone {
		unstructured.RemoveNestedField(t, "spec", "clusterIP")
		unstructured.RemoveNestedField(t, "spec", "clusterIPs")
	}
	unstructured.RemoveNestedField(t, "spec", "healthCheckNodePort")
	ports, found, err := unstructured.NestedSlice(t, "spec", "ports")
	if err != nil || !found {
		return err
	}
	for _, p := range ports {
		if m, ok := p.(map[string]any); ok {
			delete(m, "nodePort")
		}
	}
	return unstructured.SetNestedSlice(t, ports, "spec", "ports")
}

// removeKeys removes keys from the string map metadata.<field> of t, and the map once empty.
func removeKeys(t map[string]any, field string, keys []string) error {
	m, found, err := unstructured.NestedStringMap(t, "metadata", field)
	if err != nil {
		return fmt.Errorf("metadata.%s: %w", field, err)
	}
	if !found {
		return nil
	}
	for _, k := range keys {
		delete(m, k)
	}
	if len(m) == 0 {
		unstructured.RemoveNestedField(t, "metadata", field)
		return nil
	}
	return unstructured.SetNestedStringMap(t, m, "metadata", field)
}

// ref names an object in messages: kind namespace/name, or kind name.
func ref(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetKind() + " " + obj.GetName()
	}
	return obj.GetKind() + " " + obj.GetNamespace() + "/" + obj.GetName()
}
