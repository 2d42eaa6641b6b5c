package federate

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// DenialTracker keeps, for one type, the requests that members deny to the control plane, by
// federated object and cluster, as the reconciles of the objects find them. It tells which
// denials are new to an object (one event each), and which clusters deny the type, for its
// FederatedTypeConfig. It lives in memory, one per sync reconciler, and holds only the objects
// that some cluster denies. A nil tracker keeps nothing: every denial is new each time.
type DenialTracker struct {
	// Changed is called, with no lock held, when the clusters that deny the type, or what they
	// deny, change; nil calls nothing.
	Changed func()

	mu       sync.Mutex
	byObject map[types.NamespacedName]map[string]deniedRequest
	// counts are, by cluster and denial, how many objects it concerns.
	counts map[clusterDenial]int
}

// clusterDenial is a request that one cluster denies.
type clusterDenial struct {
	cluster string
	denial  cluster.Denial
}

// deniedRequest is a cluster's denial of a request about one object, and the status it gave
// the cluster.
type deniedRequest struct {
	denial cluster.Denial
	status typesv1beta1.PropagationStatus
}

// observe records what one reconcile of the object found in each cluster, and returns the
// results whose denial is new to the object. A cluster that has not answered (busy, or in
// flight) keeps what was known of it; one with no result is forgotten.
func (t *DenialTracker) observe(key types.NamespacedName, results []clusterResult) []clusterResult {
	if t == nil {
		return deniedResults(results, nil)
	}
	t.mu.Lock()
	prev := t.byObject[key]
	fresh := deniedResults(results, prev)
	next := map[string]deniedRequest{}
	for _, res := range results {
		if d, ok := prev[res.name]; ok && (res.busy || res.inFlight) {
			next[res.name] = d
		} else if d, ok := cluster.Denied(res.err); ok {
			next[res.name] = deniedRequest{denial: d, status: res.status}
		}
	}
	changed := t.replace(key, prev, next)
	t.mu.Unlock()
	if changed && t.Changed != nil {
		t.Changed()
	}
	return fresh
}

// forget drops what is known of an object that is gone.
func (t *DenialTracker) forget(key types.NamespacedName) {
	if t == nil {
		return
	}
	t.mu.Lock()
	changed := t.replace(key, t.byObject[key], nil)
	t.mu.Unlock()
	if changed && t.Changed != nil {
		t.Changed()
	}
}

// replace sets the object's denials to next, and tells whether the denials of the type, by
// cluster, changed.
func (t *DenialTracker) replace(key types.NamespacedName, prev, next map[string]deniedRequest) bool {
	if t.byObject == nil {
		t.byObject, t.counts = map[types.NamespacedName]map[string]deniedRequest{}, map[clusterDenial]int{}
	}
	// was tells, for each pair touched, whether some object had it before.
	was := map[clusterDenial]bool{}
	count := func(name string, d cluster.Denial, delta int) {
		k := clusterDenial{cluster: name, denial: d}
		if _, seen := was[k]; !seen {
			was[k] = t.counts[k] > 0
		}
		t.counts[k] += delta
	}
	for name, d := range prev {
		count(name, d.denial, -1)
	}
	for name, d := range next {
		count(name, d.denial, 1)
	}
	changed := false
	for k, before := range was {
		if t.counts[k] <= 0 {
			delete(t.counts, k)
		}
		changed = changed || before != (t.counts[k] > 0)
	}
	delete(t.byObject, key)
	if len(next) > 0 {
		t.byObject[key] = next
	}
	return changed
}

// Denied returns, by cluster, what the clusters deny to the type's sync controller, sorted.
func (t *DenialTracker) Denied() map[string][]cluster.Denial {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string][]cluster.Denial, len(t.counts))
	for k := range t.counts {
		out[k.cluster] = append(out[k.cluster], k.denial)
	}
	for _, ds := range out {
		sortDenials(ds)
	}
	return out
}

// deniedResults returns the results whose denial differs from what prev knew.
func deniedResults(results []clusterResult, prev map[string]deniedRequest) []clusterResult {
	var out []clusterResult
	for _, res := range results {
		d, ok := cluster.Denied(res.err)
		if ok && prev[res.name] != (deniedRequest{denial: d, status: res.status}) {
			out = append(out, res)
		}
	}
	return out
}

func sortDenials(ds []cluster.Denial) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].String() < ds[j].String() })
}

// recordDenials records what the clusters deny in this reconcile, and a Warning event for each
// denial new to the object in a cluster that its status lists: the event's reason is the
// cluster's status, its message the Propagation condition's sentence about the cluster.
func (r *SyncReconciler) recordDenials(s *scope, results []clusterResult) {
	key := types.NamespacedName{Namespace: s.fed.GetNamespace(), Name: s.fed.GetName()}
	for _, res := range r.Denials.observe(key, results) {
		if !res.decision.Listed {
			continue
		}
		d, _ := cluster.Denied(res.err)
		action := "Read"
		if res.status != typesv1beta1.CachedRetrievalFailed {
			action = string(res.decision.Action)
		}
		r.Recorder.Eventf(s.fed, nil, corev1.EventTypeWarning, string(res.status), action, "%s", denialSentence([]string{res.name}, d))
	}
}

// denialMessage is what the Propagation condition's message says of the listed clusters that
// deny a request: one sentence per request denied, naming the clusters in order.
func denialMessage(results []clusterResult) string {
	byDenial := map[cluster.Denial][]string{}
	for _, res := range results {
		if d, ok := cluster.Denied(res.err); ok && res.decision.Listed {
			byDenial[d] = append(byDenial[d], res.name)
		}
	}
	denials := make([]cluster.Denial, 0, len(byDenial))
	for d := range byDenial {
		denials = append(denials, d)
	}
	sortDenials(denials)
	sentences := make([]string, 0, len(denials))
	for _, d := range denials {
		sentences = append(sentences, denialSentence(byDenial[d], d))
	}
	return strings.Join(sentences, "; ")
}

// denialSentence says that clusters deny d, and how to grant it.
func denialSentence(clusters []string, d cluster.Denial) string {
	sort.Strings(clusters)
	if len(clusters) == 1 {
		return fmt.Sprintf("cluster %s denies %s on %s: run \"fedctl join %s\" again to grant it", clusters[0], d.Verb, d.Resource, clusters[0])
	}
	return fmt.Sprintf("clusters %s deny %s on %s: run \"fedctl join <cluster>\" again for each of them to grant it", clusterNames(clusters), d.Verb, d.Resource)
}

// setAccessCondition sets the MemberAccess condition of a FederatedTypeConfig whose target is
// resource: while its sync controller runs, False with reason AccessDenied naming the clusters
// that deny requests (sorted, with what they deny), else True; when it does not run, none.
func setAccessCondition(conditions *[]metav1.Condition, running bool, denied map[string][]cluster.Denial, resource schema.GroupResource, generation int64, now time.Time) {
	if !running {
		meta.RemoveStatusCondition(conditions, corev1beta1.MemberAccess)
		return
	}
	c := metav1.Condition{
		Type: corev1beta1.MemberAccess, Status: metav1.ConditionTrue, Reason: corev1beta1.ReasonAccessAllowed,
		Message:            "no member denied a request of the sync controller",
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now).Rfc3339Copy(),
	}
	if len(denied) > 0 {
		c.Status, c.Reason = metav1.ConditionFalse, corev1beta1.ReasonAccessDenied
		c.Message = accessDeniedMessage(denied, resource)
	}
	meta.SetStatusCondition(conditions, c)
}

// accessDeniedMessage names the clusters that deny requests of a type whose target is resource,
// with what they deny: "clusters deny requests on configmaps: cce (list), local (create,
// patch); run ...".
func accessDeniedMessage(denied map[string][]cluster.Denial, resource schema.GroupResource) string {
	names := make([]string, 0, len(denied))
	for name := range denied {
		names = append(names, name)
	}
	sort.Strings(names)
	entries := make([]string, 0, len(names))
	for _, name := range names {
		what := make([]string, 0, len(denied[name]))
		for _, d := range denied[name] {
			if d.Resource == resource {
				what = append(what, d.Verb)
			} else {
				what = append(what, d.Verb+" on "+d.Resource.String())
			}
		}
		entries = append(entries, fmt.Sprintf("%s (%s)", name, strings.Join(what, ", ")))
	}
	return fmt.Sprintf("clusters deny requests on %s: %s; run \"fedctl join <cluster>\" again for each of them to grant them",
		resource, clusterNames(entries))
}
