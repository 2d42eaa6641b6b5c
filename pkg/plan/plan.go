package plan

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/overrides"
	"github.com/fedplane/fedplane/pkg/placement"
	"github.com/fedplane/fedplane/pkg/rsp/schedule"
)

// TargetType is what a federated kind propagates.
type TargetType struct {
	// APIVersion and Kind of the member objects ("apps/v1", "Deployment").
	APIVersion, Kind string
	// Namespaced tells whether the member objects are namespaced.
	Namespaced bool
}

// Input is a static set of federation objects.
type Input struct {
	// Clusters are the registered member clusters.
	Clusters []placement.Cluster
	// Objects are federated objects of any federated kind, FederatedNamespaces included.
	Objects []*unstructured.Unstructured
	// Types maps federated kinds (FederatedDeployment) to their target types.
	Types map[string]TargetType
	// Preferences are the ReplicaSchedulingPreferences.
	Preferences []schedulingv1alpha1.ReplicaSchedulingPreference
}

// Plan is what every member cluster would receive. Its JSON form is `fedctl plan -o json`.
type Plan struct {
	// Items has one entry per federated object, sorted by kind, namespace and name.
	Items []Item `json:"items"`
}

// Item is the plan of one federated object.
type Item struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Clusters has one entry per registered cluster, sorted by name.
	Clusters []Cluster `json:"clusters"`
	// Errors are the problems met while planning the object, the whole object's first.
	Errors []Error `json:"errors"`
}

// Cluster is what one member cluster would receive of one federated object.
type Cluster struct {
	Name string `json:"name"`
	// Selected tells whether the placement selects the cluster. A selected cluster that is not
	// Ready keeps the object but receives no writes until it is Ready (reason ClusterNotReady).
	Selected bool `json:"selected"`
	// Reason is empty for a selected, Ready cluster, and otherwise says why not.
	Reason string `json:"reason"`
	// Replicas is the number of replicas the ReplicaSchedulingPreference gives the cluster; it
	// is present only for objects that one governs.
	Replicas *int64 `json:"replicas,omitempty"`
	// Object is the member object after overrides; it is present only for selected clusters
	// whose overrides apply.
	Object map[string]any `json:"object,omitempty"`
}

// Error is a problem met while planning an object: for one cluster when Cluster is set.
type Error struct {
	Cluster string `json:"cluster,omitempty"`
	Message string `json:"message"`
}

// Reasons that plan adds to placement's.
const (
	// ReasonNoReplicas means a ReplicaSchedulingPreference governs the object and gives the
	// cluster no replicas, so the cluster is not placed.
	ReasonNoReplicas = "NoReplicas"
	// ReasonUnknownType means no FederatedTypeConfig names the object's kind.
	ReasonUnknownType = "UnknownFederatedType"
)

// namespaceKind is the federated kind of namespaces.
const namespaceKind = "FederatedNamespace"

// Compute plans every federated object of the input.
func Compute(in Input) Plan {
	clusters := slices.Clone(in.Clusters)
	slices.SortFunc(clusters, func(a, b placement.Cluster) int { return cmp.Compare(a.Name, b.Name) })

	namespaces := map[string]*typesv1beta1.FederatedObject{}
	for _, o := range in.Objects {
		if o.GetKind() == namespaceKind && o.GetName() == o.GetNamespace() {
			if fo, err := decode(o); err == nil {
				namespaces[o.GetNamespace()] = fo
			}
		}
	}
	preferences := map[string]*schedulingv1alpha1.ReplicaSchedulingPreference{}
	for i := range in.Preferences {
		p := &in.Preferences[i]
		preferences[p.Spec.TargetKind+"/"+p.Namespace+"/"+p.Name] = p
	}

	objects := slices.Clone(in.Objects)
	slices.SortFunc(objects, func(a, b *unstructured.Unstructured) int {
		return cmp.Or(cmp.Compare(a.GetKind(), b.GetKind()), cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
	})
	out := Plan{Items: []Item{}}
	for _, o := range objects {
		out.Items = append(out.Items, planObject(o, clusters, in.Types, namespaces, preferences))
	}
	return out
}

func planObject(o *unstructured.Unstructured, clusters []placement.Cluster, types map[string]TargetType,
	namespaces map[string]*typesv1beta1.FederatedObject, preferences map[string]*schedulingv1alpha1.ReplicaSchedulingPreference) Item {
	item := Item{APIVersion: o.GetAPIVersion(), Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Errors: []Error{}}
	fail := func(reason string, err error) Item {
		item.Errors = append(item.Errors, Error{Message: err.Error()})
		for _, c := range clusters {
			item.Clusters = append(item.Clusters, Cluster{Name: c.Name, Reason: reason})
		}
		return item
	}
	target, ok := types[o.GetKind()]
	if !ok {
		return fail(ReasonUnknownType, fmt.Errorf("no FederatedTypeConfig names the federated kind %s", o.GetKind()))
	}
	fed, err := decode(o)
	if err != nil {
		return fail(string(placement.NoPlacement), err)
	}
	template, _, err := unstructured.NestedMap(o.Object, "spec", "template")
	if err != nil {
		return fail(string(placement.NoPlacement), fmt.Errorf("failed to read spec.template: %w", err))
	}
	isNamespace := o.GetKind() == namespaceKind
	var nsPlacement *typesv1beta1.Placement
	if ns, ok := namespaces[o.GetNamespace()]; ok {
		nsPlacement = &ns.Spec.Placement
	}
	input := placement.Input{
		Placement:            fed.Spec.Placement,
		Namespaced:           target.Namespaced,
		IsFederatedNamespace: isNamespace,
		NamespacePlacement:   nsPlacement,
		Clusters:             clusters,
	}
	if input.Namespaced && !isNamespace && nsPlacement == nil {
		item.Errors = append(item.Errors, Error{Message: fmt.Sprintf("namespace %s has no FederatedNamespace, so the object is placed nowhere", o.GetNamespace())})
	}

	clusterOverrides := fed.Spec.Overrides
	var replicas map[string]int64
	if pref, ok := preferences[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()]; ok {
		var candidates []string
		replicas, input, clusterOverrides, candidates, err = scheduleReplicas(pref, fed, input)
		if err != nil {
			return fail(string(placement.NoPlacement), fmt.Errorf("failed to plan replicas with ReplicaSchedulingPreference %s: %w", pref.Name, err))
		}
		if len(candidates) == 0 {
			item.Errors = append(item.Errors, Error{Message: fmt.Sprintf("ReplicaSchedulingPreference %s has no candidate cluster: %s; the object is left as it is", pref.Name, schedule.NoCandidates(pref.Spec, input))})
		}
	}

	resolved, err := placement.Resolve(input)
	if err != nil {
		return fail(string(placement.NoPlacement), err)
	}
	if len(resolved.UnknownClusters) > 0 {
		item.Errors = append(item.Errors, Error{Message: fmt.Sprintf("placement names clusters that are not registered: %v", resolved.UnknownClusters)})
	}
	for _, d := range resolved.Decisions {
		c := Cluster{Name: d.Name, Selected: d.Selected, Reason: string(d.Reason)}
		if replicas != nil {
			n := replicas[d.Name]
			c.Replicas = &n
			if !d.Selected && d.Ready && d.Reason == placement.NotInClusterList {
				c.Reason = ReasonNoReplicas
			}
		}
		if !d.Ready && !d.Selected {
			c.Reason = string(placement.ClusterNotReady)
		}
		if d.Selected {
			obj, err := render(o, target, template, clusterOverrides, d.Name)
			if err != nil {
				item.Errors = append(item.Errors, Error{Cluster: d.Name, Message: err.Error()})
			} else {
				c.Object = obj
			}
		}
		item.Clusters = append(item.Clusters, c)
	}
	return item
}

func render(o *unstructured.Unstructured, target TargetType, template map[string]any, all []typesv1beta1.ClusterOverrides, cluster string) (map[string]any, error) {
	ovs, err := overrides.ForCluster(all, cluster)
	if err != nil {
		return nil, err
	}
	res, err := overrides.Render(overrides.Input{
		Template:   template,
		APIVersion: target.APIVersion,
		Kind:       target.Kind,
		Name:       o.GetName(),
		Namespace:  o.GetNamespace(),
		Namespaced: target.Namespaced,
		Overrides:  ovs,
	})
	if err != nil {
		return nil, err
	}
	return res.Object.Object, nil
}

// decode reads the shared federated fields of an object, keeping the difference between an
// absent and an empty placement.clusters.
func decode(o *unstructured.Unstructured) (*typesv1beta1.FederatedObject, error) {
	b, err := json.Marshal(o.Object)
	if err != nil {
		return nil, fmt.Errorf("failed to encode %s %s: %w", o.GetKind(), o.GetName(), err)
	}
	var fo typesv1beta1.FederatedObject
	if err := json.Unmarshal(b, &fo); err != nil {
		return nil, fmt.Errorf("failed to decode %s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return &fo, nil
}
