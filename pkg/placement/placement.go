package placement

import (
	"cmp"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// Reason explains why a cluster is not selected, or why a selected cluster must not be written
// to. It is a CamelCase constant suitable for status and events.
type Reason string

// The reasons that Resolve reports.
const (
	// NotInClusterList means placement.clusters is set (possibly to an empty list) and does not
	// name the cluster.
	NotInClusterList Reason = "NotInClusterList"
	// NotMatchingSelector means placement.clusters is not set and the cluster's labels do not
	// match placement.clusterSelector.
	NotMatchingSelector Reason = "NotMatchingSelector"
	// NoPlacement means neither placement.clusters nor placement.clusterSelector is set, so no
	// cluster is selected.
	NoPlacement Reason = "NoPlacement"
	// NotInNamespacePlacement means the object's own placement selects the cluster but the
	// placement of the FederatedNamespace of its namespace does not.
	NotInNamespacePlacement Reason = "NotInNamespacePlacement"
	// NamespaceNotFederated means the object is namespaced and its namespace has no
	// FederatedNamespace, so it is placed nowhere.
	NamespaceNotFederated Reason = "NamespaceNotFederated"
	// ClusterNotReady means the cluster is selected but not ready: it keeps its place (the object
	// is not removed from it) but receives no writes until it is ready again.
	ClusterNotReady Reason = "ClusterNotReady"
)

// Cluster is a registered member cluster as placement sees it.
type Cluster struct {
	// Name is the name of the KubeFedCluster.
	Name string
	// Labels are the labels of the KubeFedCluster, matched by cluster selectors.
	Labels map[string]string
	// Ready tells whether the cluster's Ready condition is true.
	Ready bool
}

// Input is everything Resolve needs to place one federated object.
type Input struct {
	// Placement is the federated object's spec.placement. A non-nil Clusters slice, even an
	// empty one, decides alone; keep the nil/empty distinction when decoding.
	Placement typesv1beta1.Placement
	// Namespaced tells whether the target type is namespaced. A namespaced object is limited to
	// the placement of the FederatedNamespace of its namespace.
	Namespaced bool
	// IsFederatedNamespace tells whether the object is the FederatedNamespace itself, whose own
	// placement is never limited by a namespace placement.
	IsFederatedNamespace bool
	// NamespacePlacement is the placement of the FederatedNamespace of the object's namespace,
	// or nil when the namespace is not federated. It is ignored for objects that are not
	// namespaced and for the FederatedNamespace itself.
	NamespacePlacement *typesv1beta1.Placement
	// Clusters are the registered member clusters, in any order. Names must be unique.
	Clusters []Cluster
}

// Decision is the placement outcome for one registered cluster.
type Decision struct {
	// Name is the cluster's name.
	Name string
	// Selected tells whether the placement selects the cluster. A selected cluster keeps the
	// object, whether or not it is ready.
	Selected bool
	// Ready copies the cluster's readiness. Only clusters that are both Selected and Ready may
	// be written to.
	Ready bool
	// Reason is empty for a selected, ready cluster; ClusterNotReady for a selected cluster that
	// is not ready; otherwise the reason the cluster is not selected.
	Reason Reason
}

// Writable tells whether the object may be created or updated in the cluster now.
func (d Decision) Writable() bool { return d.Selected && d.Ready }

// Result is the outcome of Resolve.
type Result struct {
	// Selected are the names of the selected clusters, sorted, ready or not. The object belongs
	// in these clusters and is removed from every other one.
	Selected []string
	// Writable are the names of the selected clusters that are ready, sorted: the only ones to
	// write to now.
	Writable []string
	// Decisions has one entry per registered cluster, sorted by name.
	Decisions []Decision
	// UnknownClusters are the names in placement.clusters that are not registered clusters,
	// sorted and without duplicates. They are ignored; they are reported so that a typo shows.
	UnknownClusters []string
	// Reason is NamespaceNotFederated when the object is namespaced and its namespace has no
	// FederatedNamespace, and empty otherwise.
	Reason Reason
}

// Resolve applies KubeFed's placement rules to the registered clusters.
//
// When placement.clusters is not nil it alone decides, even when it is empty, and
// placement.clusterSelector is ignored. Otherwise the selector decides with
// metav1.LabelSelectorAsSelector semantics: an empty selector selects every cluster, and a
// missing one selects none. A namespaced object other than the FederatedNamespace itself is
// further limited to the clusters that its FederatedNamespace's placement selects, computed
// with the same rules; without a FederatedNamespace it is placed nowhere. Readiness does not
// change selection: a selected cluster that is not ready is reported with ClusterNotReady and
// left out of Writable. An invalid selector is an error.
func Resolve(in Input) (Result, error) {
	clusters := slices.Clone(in.Clusters)
	slices.SortFunc(clusters, func(a, b Cluster) int { return cmp.Compare(a.Name, b.Name) })
	for i := 1; i < len(clusters); i++ {
		if clusters[i].Name == clusters[i-1].Name {
			return Result{}, fmt.Errorf("failed to resolve placement: cluster %q is registered more than once", clusters[i].Name)
		}
	}

	own, err := newMatcher(in.Placement)
	if err != nil {
		return Result{}, fmt.Errorf("failed to resolve placement: %w", err)
	}

	limited := in.Namespaced && !in.IsFederatedNamespace
	var ns *matcher
	var res Result
	if limited {
		if in.NamespacePlacement == nil {
			res.Reason = NamespaceNotFederated
		} else {
			m, err := newMatcher(*in.NamespacePlacement)
			if err != nil {
				return Result{}, fmt.Errorf("failed to resolve the placement of the FederatedNamespace: %w", err)
			}
			ns = &m
		}
	}

	res.Decisions = make([]Decision, 0, len(clusters))
	for _, c := range clusters {
		d := Decision{Name: c.Name, Ready: c.Ready}
		if res.Reason == NamespaceNotFederated {
			d.Reason = NamespaceNotFederated
		} else {
			d.Reason = own.reject(c)
			if d.Reason == "" && ns != nil && ns.reject(c) != "" {
				d.Reason = NotInNamespacePlacement
			}
		}
		if d.Reason == "" {
			d.Selected = true
			res.Selected = append(res.Selected, c.Name)
			if c.Ready {
				res.Writable = append(res.Writable, c.Name)
			} else {
				d.Reason = ClusterNotReady
			}
		}
		res.Decisions = append(res.Decisions, d)
	}

	if in.Placement.Clusters != nil {
		registered := sets.New[string]()
		for _, c := range clusters {
			registered.Insert(c.Name)
		}
		unknown := sets.New[string]()
		for _, ref := range in.Placement.Clusters {
			if !registered.Has(ref.Name) {
				unknown.Insert(ref.Name)
			}
		}
		if unknown.Len() > 0 {
			res.UnknownClusters = sets.List(unknown)
		}
	}
	return res, nil
}

// matcher is one placement, ready to be tested against clusters.
type matcher struct {
	// names is set when the placement lists clusters; it then decides alone.
	names sets.Set[string]
	// selector is used when names is nil; nil means no placement at all.
	selector labels.Selector
}

func newMatcher(p typesv1beta1.Placement) (matcher, error) {
	if p.Clusters != nil {
		names := sets.New[string]()
		for _, ref := range p.Clusters {
			names.Insert(ref.Name)
		}
		return matcher{names: names}, nil
	}
	if p.ClusterSelector == nil {
		return matcher{}, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(p.ClusterSelector)
	if err != nil {
		return matcher{}, fmt.Errorf("failed to parse clusterSelector: %w", err)
	}
	return matcher{selector: sel}, nil
}

// reject returns why the placement does not select the cluster, or "" when it does.
func (m matcher) reject(c Cluster) Reason {
	switch {
	case m.names != nil:
		if m.names.Has(c.Name) {
			return ""
		}
		return NotInClusterList
	case m.selector == nil:
		return NoPlacement
	case m.selector.Matches(labels.Set(c.Labels)):
		return ""
	default:
		return NotMatchingSelector
	}
}
