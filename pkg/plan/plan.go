package plan

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/placement"
	"github.com/fedplane/fedplane/pkg/render"
	"github.com/fedplane/fedplane/pkg/rsp/schedule"
)

// TargetType is what a federated kind propagates: the apiVersion and kind of the member
// objects, and whether they are namespaced.
type TargetType = render.Target

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
	// ControlPlaneID is the id of the control plane that would write the member objects, as
	// fed-controller's --control-plane-id. Empty renders them without the control-plane
	// annotation and the hash of what is applied, and the plan warns of it.
	ControlPlaneID string
}

// Plan is what every member cluster would receive. Its JSON form is `fedctl plan -o json`.
type Plan struct {
	// Warnings concern the whole plan; there is none when the control-plane id is known.
	Warnings []Warning `json:"warnings,omitempty"`
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
	// Warnings are what rendering changed instead of failing, such as template annotations
	// that are not propagated, by cluster in name order; the controller puts the same in the
	// federated object's status.
	Warnings []Warning `json:"warnings"`
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

// Warning is something that rendering changed instead of failing: for one cluster when Cluster
// is set.
type Warning struct {
	Cluster string `json:"cluster,omitempty"`
	// Reason is a CamelCase constant, such as AnnotationsNotSupported.
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Reasons that plan adds to placement's.
const (
	// ReasonNoReplicas means a ReplicaSchedulingPreference governs the object and gives the
	// cluster no replicas, so the cluster is not placed.
	ReasonNoReplicas = "NoReplicas"
	// ReasonUnknownType means no FederatedTypeConfig names the object's kind.
	ReasonUnknownType = "UnknownFederatedType"
	// ReasonControlPlaneIDUnknown is the plan's warning when the control-plane id is not given.
	ReasonControlPlaneIDUnknown = "ControlPlaneIDUnknown"
)

// namespaceKind is the federated kind of namespaces.
const namespaceKind = "FederatedNamespace"

// Compute plans every federated object of the input.
func Compute(in Input) Plan {
	p := planner{clusters: slices.Clone(in.Clusters), types: in.Types, controlPlaneID: in.ControlPlaneID,
		namespaces:  map[string]*typesv1beta1.FederatedObject{},
		preferences: map[string]*schedulingv1alpha1.ReplicaSchedulingPreference{},
	}
	slices.SortFunc(p.clusters, func(a, b placement.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	for _, o := range in.Objects {
		if o.GetKind() == namespaceKind && o.GetName() == o.GetNamespace() {
			if fo, err := decode(o); err == nil {
				p.namespaces[o.GetNamespace()] = fo
			}
		}
	}
	for i := range in.Preferences {
		pref := &in.Preferences[i]
		p.preferences[pref.Spec.TargetKind+"/"+pref.Namespace+"/"+pref.Name] = pref
	}

	objects := slices.Clone(in.Objects)
	slices.SortFunc(objects, func(a, b *unstructured.Unstructured) int {
		return cmp.Or(cmp.Compare(a.GetKind(), b.GetKind()), cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
	})
	out := Plan{Items: []Item{}}
	if in.ControlPlaneID == "" {
		out.Warnings = []Warning{{Reason: ReasonControlPlaneIDUnknown, Message: "the control-plane id is not known, so the objects lack the annotations " +
			contract.ControlPlaneAnnotation + " and " + contract.AppliedAnnotation + " that fed-controller sets; give it with --control-plane-id"}}
	}
	for _, o := range objects {
		out.Items = append(out.Items, p.planObject(o))
	}
	return out
}

// planner is what the plan of every object reads.
type planner struct {
	// clusters are sorted by name.
	clusters []placement.Cluster
	types    map[string]TargetType
	// namespaces are the FederatedNamespaces by namespace, and preferences the
	// ReplicaSchedulingPreferences by target kind, namespace and name.
	namespaces     map[string]*typesv1beta1.FederatedObject
	preferences    map[string]*schedulingv1alpha1.ReplicaSchedulingPreference
	controlPlaneID string
}

// planned is one federated object being planned.
type planned struct {
	u      *unstructured.Unstructured
	fed    *typesv1beta1.FederatedObject
	target TargetType
	// overrides are the object's, or what its ReplicaSchedulingPreference makes of them;
	// replicas is nil unless one governs the object.
	overrides []typesv1beta1.ClusterOverrides
	replicas  map[string]int64
}

func (p *planner) planObject(o *unstructured.Unstructured) Item {
	item := Item{APIVersion: o.GetAPIVersion(), Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Errors: []Error{}, Warnings: []Warning{}}
	fail := func(reason string, err error) Item {
		item.Errors = append(item.Errors, Error{Message: err.Error()})
		for _, c := range p.clusters {
			item.Clusters = append(item.Clusters, Cluster{Name: c.Name, Reason: reason})
		}
		return item
	}
	target, ok := p.types[o.GetKind()]
	if !ok {
		return fail(ReasonUnknownType, fmt.Errorf("no FederatedTypeConfig names the federated kind %s", o.GetKind()))
	}
	fed, err := decode(o)
	if err != nil {
		return fail(string(placement.NoPlacement), err)
	}
	obj := &planned{u: o, fed: fed, target: target, overrides: fed.Spec.Overrides}
	input := p.placementInput(obj, &item)
	if pref, ok := p.preferences[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()]; ok {
		var candidates []string
		obj.replicas, input, obj.overrides, candidates, err = scheduleReplicas(pref, fed, input)
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
		item.Clusters = append(item.Clusters, p.planCluster(obj, d, &item))
	}
	return item
}

// placementInput is the placement input of the object; a namespaced object whose namespace
// has no FederatedNamespace is reported in the item.
func (p *planner) placementInput(o *planned, item *Item) placement.Input {
	isNamespace := o.u.GetKind() == namespaceKind
	var nsPlacement *typesv1beta1.Placement
	if ns, ok := p.namespaces[o.u.GetNamespace()]; ok {
		nsPlacement = &ns.Spec.Placement
	}
	if o.target.Namespaced && !isNamespace && nsPlacement == nil {
		item.Errors = append(item.Errors, Error{Message: fmt.Sprintf("namespace %s has no FederatedNamespace, so the object is placed nowhere", o.u.GetNamespace())})
	}
	return placement.Input{
		Placement: o.fed.Spec.Placement, Namespaced: o.target.Namespaced, IsFederatedNamespace: isNamespace,
		NamespacePlacement: nsPlacement, Clusters: p.clusters,
	}
}

// planCluster is the plan of the object in one cluster: its placement, its replicas and, when
// it is selected, the object rendered as the controller renders it for a cluster that has no
// copy yet. Render errors and warnings go to the item.
func (p *planner) planCluster(o *planned, d placement.Decision, item *Item) Cluster {
	c := Cluster{Name: d.Name, Selected: d.Selected, Reason: string(d.Reason)}
	if o.replicas != nil {
		n := o.replicas[d.Name]
		c.Replicas = &n
		if !d.Selected && d.Ready && d.Reason == placement.NotInClusterList {
			c.Reason = ReasonNoReplicas
		}
	}
	if !d.Ready && !d.Selected {
		c.Reason = string(placement.ClusterNotReady)
	}
	if !d.Selected {
		return c
	}
	var labels map[string]string
	for _, cl := range p.clusters {
		if cl.Name == d.Name {
			labels = cl.Labels
		}
	}
	res, err := render.Member(render.Input{
		Federated: o.u, Overrides: o.overrides, Target: o.target, Cluster: d.Name, ClusterLabels: labels,
		ControlPlaneID: p.controlPlaneID, RetainReplicas: typesv1beta1.RetainReplicas(o.u),
	})
	if err != nil {
		item.Errors = append(item.Errors, Error{Cluster: d.Name, Message: err.Error()})
		return c
	}
	c.Object = res.Object.Object
	for _, w := range res.Warnings {
		item.Warnings = append(item.Warnings, Warning{Cluster: d.Name, Reason: string(w.Reason), Message: w.Message})
	}
	return c
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
