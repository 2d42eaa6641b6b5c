package render

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/jsonhash"
	"github.com/fedplane/fedplane/pkg/overrides"
)

// Warning reports something that rendering changed instead of failing: a field of the template
// that is not propagated.
type Warning = overrides.Warning

// Target is the type of the member objects.
type Target struct {
	// APIVersion and Kind of the member objects ("apps/v1", "Deployment").
	APIVersion, Kind string
	// Namespaced tells whether the member objects are namespaced.
	Namespaced bool
}

// Input is what the object of one cluster is rendered from.
type Input struct {
	// Federated is the federated object. Its name, namespace and spec.template are read; it is
	// never modified.
	Federated *unstructured.Unstructured
	// Overrides are the federated object's spec.overrides (or what a
	// ReplicaSchedulingPreference makes of them); the cluster's are applied.
	Overrides []typesv1beta1.ClusterOverrides
	// Target is the type of the member object.
	Target Target
	// Cluster is the name of the cluster's registration, the KubeFedCluster.
	Cluster string
	// ClusterLabels are the KubeFedCluster's labels, which the template values of a federated
	// object with contract.TemplateValuesAnnotation may name.
	ClusterLabels map[string]string
	// ControlPlaneID is the id of the control plane that writes the object. Empty leaves out
	// the control-plane annotation and the hash, for a preview that does not know the id.
	ControlPlaneID string
	// Existing is the member's copy, whose replicas RetainReplicas keeps; nil when there is
	// none, or when it is not known (a preview).
	Existing *unstructured.Unstructured
	// RetainReplicas is the federated object's spec.retainReplicas.
	RetainReplicas bool
}

// Result is the object one cluster receives.
type Result struct {
	// Object is the object to apply to the cluster.
	Object *unstructured.Unstructured
	// Warnings lists what was dropped from the template, in a fixed order.
	Warnings []Warning
}

// Member renders the object that one cluster receives of a federated object: the template
// with the cluster's overrides and the managed label (see overrides.Render), finished as finish
// says. Any error concerns this cluster alone; when an override or a template value is at
// fault it wraps an *overrides.OverrideError or an *overrides.TemplateError
// (overrides.IsOverrideFailure).
func Member(in Input) (Result, error) {
	template, err := templateOf(in.Federated)
	if err != nil {
		return Result{}, err
	}
	ops, err := overrides.ForCluster(in.Overrides, in.Cluster)
	if err != nil {
		return Result{}, err
	}
	var values *overrides.TemplateValues
	if in.Federated.GetAnnotations()[contract.TemplateValuesAnnotation] == "true" {
		values = &overrides.TemplateValues{Cluster: in.Cluster, Labels: in.ClusterLabels, Namespace: in.Federated.GetNamespace()}
	}
	out, err := overrides.Render(overrides.Input{
		Template: template, APIVersion: in.Target.APIVersion, Kind: in.Target.Kind,
		Name: in.Federated.GetName(), Namespace: in.Federated.GetNamespace(), Namespaced: in.Target.Namespaced, Overrides: ops,
		Values: values,
	})
	if err != nil {
		return Result{}, err
	}
	if err := finish(out.Object, in.ControlPlaneID, in.Cluster, in.RetainReplicas, in.Existing); err != nil {
		return Result{}, err
	}
	return Result{Object: out.Object, Warnings: out.Warnings}, nil
}

// templateOf is the federated object's spec.template, shared with it; nil when it has none.
func templateOf(fed *unstructured.Unstructured) (map[string]any, error) {
	t, found, _ := unstructured.NestedFieldNoCopy(fed.Object, "spec", "template")
	template, ok := t.(map[string]any)
	if found && t != nil && !ok {
		return nil, fmt.Errorf("failed to render: %w: spec.template is a %T, not an object", overrides.ErrInvalidTemplate, t)
	}
	return template, nil
}

// finish completes the object rendered for one cluster: it records the control plane and the
// cluster's registration in annotations and, with retainReplicas, keeps the member's current
// spec.replicas (the template's when there is no copy yet), as KubeFed does for an autoscaler
// that owns the replicas. Last it records the hash of what is applied; the retained replicas
// are left out of it, so that the member's own scaling does not make the copy out of date,
// while switching retainReplicas on or off does. With an empty controlPlaneID neither the
// control plane nor the hash, which covers it, is recorded.
func finish(obj *unstructured.Unstructured, controlPlaneID, cluster string, retainReplicas bool, existing *unstructured.Unstructured) error {
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	delete(ann, contract.AppliedAnnotation)
	delete(ann, contract.ControlPlaneAnnotation)
	if controlPlaneID != "" {
		ann[contract.ControlPlaneAnnotation] = controlPlaneID
	}
	ann[contract.ClusterAnnotation] = cluster
	obj.SetAnnotations(ann)
	hashed := obj.Object
	if retainReplicas {
		hashed = obj.DeepCopy().Object
		unstructured.RemoveNestedField(hashed, "spec", "replicas")
		if err := keepReplicas(obj, existing); err != nil {
			return err
		}
	}
	if controlPlaneID == "" {
		return nil
	}
	sum, err := jsonhash.MD5(map[string]any{"object": hashed, "retainReplicas": retainReplicas})
	if err != nil {
		return err
	}
	ann[contract.AppliedAnnotation] = sum
	obj.SetAnnotations(ann)
	return nil
}

// keepReplicas gives obj the spec.replicas of the member's copy, or none when the copy has
// none; without a copy obj keeps its own.
func keepReplicas(obj, existing *unstructured.Unstructured) error {
	if existing == nil {
		return nil
	}
	replicas, found, _ := unstructured.NestedFieldNoCopy(existing.Object, "spec", "replicas")
	if !found {
		unstructured.RemoveNestedField(obj.Object, "spec", "replicas")
		return nil
	}
	if err := unstructured.SetNestedField(obj.Object, replicas, "spec", "replicas"); err != nil {
		return fmt.Errorf("failed to keep the member's spec.replicas: %w", err)
	}
	return nil
}
