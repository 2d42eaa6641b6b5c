package main

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fedplane/fedplane/api/contract"
)

// Labels that carry what the bench checks on every member object (template annotations are
// not propagated).
const (
	// versionLabel is the template's version; the bench raises it to make an update.
	versionLabel = "bench.fedplane.io/version"
	// clusterLabel is set by each object's per-cluster override to the cluster's name.
	clusterLabel = "bench.fedplane.io/cluster"
)

// benchSelector selects the bench's member objects.
const benchSelector = "app=bench"

// kind is a kind of member object the bench federates.
type kind struct {
	// Name is the flag value: ConfigMap or Deployment.
	Name string
	// Target is the member objects' kind; Federated the federated objects' kind.
	Target, Federated schema.GroupVersionKind
	// Resource and FederatedResource are their resources.
	Resource, FederatedResource schema.GroupVersionResource
	// body returns the kind-specific part of the template at a version, of about size bytes
	// where the kind allows it: data or spec.
	body func(version, size int) map[string]any
	// size is the -object-size flag: the bytes of a ConfigMap's data; 0 means
	// defaultObjectSize.
	size int
}

// defaultObjectSize is about the size of a small application setting file.
const defaultObjectSize = 500

// padding is about size bytes of YAML-looking text.
func padding(size int) string {
	if size <= 0 {
		size = defaultObjectSize
	}
	const line = "key: value # padding\n"
	return strings.Repeat(line, max(1, (size+len(line)-1)/len(line)))
}

var kinds = map[string]kind{
	"ConfigMap": {
		Name:              "ConfigMap",
		Target:            schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"},
		Federated:         schema.GroupVersionKind{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedConfigMap"},
		Resource:          schema.GroupVersionResource{Version: "v1", Resource: "configmaps"},
		FederatedResource: schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federatedconfigmaps"},
		body: func(version, size int) map[string]any {
			return map[string]any{"data": map[string]any{
				"version":       strconv.Itoa(version),
				"settings.yaml": padding(size),
			}}
		},
	},
	"Deployment": {
		Name:              "Deployment",
		Target:            schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
		Federated:         schema.GroupVersionKind{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedDeployment"},
		Resource:          schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
		FederatedResource: schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federateddeployments"},
		body: func(version, _ int) map[string]any {
			// No replicas: the bench measures propagation, not the members' pod churn.
			return map[string]any{"spec": map[string]any{
				"replicas": int64(0),
				"selector": map[string]any{"matchLabels": map[string]any{"app": "bench"}},
				"template": map[string]any{
					"metadata": map[string]any{
						"labels": map[string]any{"app": "bench", versionLabel: strconv.Itoa(version)},
					},
					"spec": map[string]any{"containers": []any{map[string]any{
						"name": "app", "image": "registry.k8s.io/pause:3.10",
						"resources": map[string]any{"requests": map[string]any{"cpu": "10m", "memory": "16Mi"}},
					}}},
				},
			}}
		},
	},
}

// objectName is the name of the i-th object.
func objectName(i int) string { return fmt.Sprintf("bench-%05d", i) }

// template is the federated object's spec.template at a version.
func (k kind) template(version int) map[string]any {
	t := k.body(version, k.size)
	t["metadata"] = map[string]any{"labels": map[string]any{"app": "bench", versionLabel: strconv.Itoa(version)}}
	return t
}

// federated is the i-th federated object at a version, placed in every cluster (an empty
// cluster selector) with one override per cluster that names the cluster.
func (k kind) federated(namespace string, i, version int, clusters []string) *unstructured.Unstructured {
	overrides := make([]any, 0, len(clusters))
	for _, c := range clusters {
		overrides = append(overrides, map[string]any{
			"clusterName": c,
			"clusterOverrides": []any{map[string]any{
				"op": "add", "path": "/metadata/labels/" + strings.ReplaceAll(clusterLabel, "/", "~1"), "value": c,
			}},
		})
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": k.Federated.GroupVersion().String(),
		"kind":       k.Federated.Kind,
		"metadata":   map[string]any{"name": objectName(i), "namespace": namespace},
		"spec": map[string]any{
			"template":  k.template(version),
			"placement": map[string]any{"clusterSelector": map[string]any{}},
			"overrides": overrides,
		},
	}}
	return u
}

// member is the object that cluster should hold for the i-th federated object at a version,
// as the control plane renders it: the template, the override, the managed label and the
// control-plane annotation.
func (k kind) member(namespace string, i, version int, cluster, controlPlaneID string) *unstructured.Unstructured {
	t := k.template(version)
	meta := t["metadata"].(map[string]any)
	meta["name"], meta["namespace"] = objectName(i), namespace
	labels := meta["labels"].(map[string]any)
	labels[contract.ManagedLabel] = "true"
	labels[clusterLabel] = cluster
	meta["annotations"] = map[string]any{contract.ControlPlaneAnnotation: controlPlaneID}
	t["apiVersion"], t["kind"] = k.Target.GroupVersion().String(), k.Target.Kind
	return &unstructured.Unstructured{Object: t}
}

// contentMatches tells whether a member object holds what the template at version says for
// cluster: the kind-specific body, both labels and the managed label.
func (k kind) contentMatches(obj *unstructured.Unstructured, version int, cluster string) error {
	l := obj.GetLabels()
	if l[versionLabel] != strconv.Itoa(version) || l[clusterLabel] != cluster {
		return fmt.Errorf("labels %s=%q %s=%q, want %d and %s", versionLabel, l[versionLabel], clusterLabel, l[clusterLabel], version, cluster)
	}
	if l[contract.ManagedLabel] != "true" {
		return fmt.Errorf("label %s is %q", contract.ManagedLabel, l[contract.ManagedLabel])
	}
	for field, want := range k.body(version, k.size) {
		got := obj.Object[field]
		if !contains(got, want) {
			return fmt.Errorf("%s differs from the template", field)
		}
	}
	return nil
}

// contains tells whether got holds every field of want with the same value; fields that
// only got has (defaults, status) are allowed.
func contains(got, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !contains(g[k], v) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !contains(g[i], w[i]) {
				return false
			}
		}
		return true
	case int64:
		switch g := got.(type) {
		case int64:
			return g == w
		case float64:
			return g == float64(w)
		}
		return false
	default:
		return fmt.Sprint(got) == fmt.Sprint(want)
	}
}
