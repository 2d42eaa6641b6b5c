package federate

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
)

var (
	configMapsResource = schema.GroupResource{Resource: "configmaps"}
	listConfigMaps     = cluster.Denial{Verb: "list", Resource: configMapsResource}
	patchConfigMaps    = cluster.Denial{Verb: "patch", Resource: configMapsResource}
)

// deniedResult is a listed cluster's result whose request the cluster denied.
func deniedResult(name string, d cluster.Denial, status typesv1beta1.PropagationStatus) clusterResult {
	return clusterResult{name: name, status: status, decision: ClusterDecision{Listed: true, Action: ActionUpdate}, err: &cluster.DeniedError{Denial: d}}
}

func okResult(name string) clusterResult {
	return clusterResult{name: name, decision: ClusterDecision{Listed: true}}
}

func names(results []clusterResult) []string {
	out := []string{}
	for _, res := range results {
		out = append(out, res.name)
	}
	return out
}

// TestDenialTracker follows one type's objects through reconciles: which denials are new to an
// object (an event each), what the type's clusters deny, and when that changes.
func TestDenialTracker(t *testing.T) {
	web, api := types.NamespacedName{Namespace: "default", Name: "web"}, types.NamespacedName{Namespace: "default", Name: "api"}
	listed := typesv1beta1.CachedRetrievalFailed
	steps := []struct {
		name        string
		object      types.NamespacedName
		results     []clusterResult
		forget      bool
		wantFresh   []string
		wantDenied  map[string][]cluster.Denial
		wantChanged bool
	}{
		{
			name: "a first denial is new, and changes the type", object: web,
			results:   []clusterResult{deniedResult("cce", listConfigMaps, listed), okResult("local")},
			wantFresh: []string{"cce"}, wantDenied: map[string][]cluster.Denial{"cce": {listConfigMaps}}, wantChanged: true,
		},
		{
			name: "the same denial again is not new, and changes nothing", object: web,
			results:   []clusterResult{deniedResult("cce", listConfigMaps, listed), okResult("local")},
			wantFresh: []string{}, wantDenied: map[string][]cluster.Denial{"cce": {listConfigMaps}},
		},
		{
			name: "another object denied the same is new to it, but the type's denials stay", object: api,
			results:   []clusterResult{deniedResult("cce", listConfigMaps, listed)},
			wantFresh: []string{"cce"}, wantDenied: map[string][]cluster.Denial{"cce": {listConfigMaps}},
		},
		{
			name: "a cluster that has not answered keeps what was known", object: web,
			results:   []clusterResult{{name: "cce", inFlight: true}, {name: "local", decision: ClusterDecision{Listed: true}, busy: true}},
			wantFresh: []string{}, wantDenied: map[string][]cluster.Denial{"cce": {listConfigMaps}},
		},
		{
			name: "a write denied in another cluster is new", object: web,
			results:   []clusterResult{deniedResult("cce", listConfigMaps, listed), deniedResult("local", patchConfigMaps, typesv1beta1.UpdateFailed)},
			wantFresh: []string{"local"}, wantDenied: map[string][]cluster.Denial{"cce": {listConfigMaps}, "local": {patchConfigMaps}}, wantChanged: true,
		},
		{
			name: "access back for one object: the other still has the cluster deny", object: web,
			results:   []clusterResult{okResult("cce"), okResult("local")},
			wantFresh: []string{}, wantDenied: map[string][]cluster.Denial{"cce": {listConfigMaps}}, wantChanged: true,
		},
		{
			name: "the last object gone: nothing is denied", object: api, forget: true,
			wantDenied: map[string][]cluster.Denial{}, wantChanged: true,
		},
	}
	changed := false
	tracker := &DenialTracker{Changed: func() { changed = true }}
	for _, step := range steps {
		changed = false
		if step.forget {
			tracker.forget(step.object)
		} else if diff := cmp.Diff(step.wantFresh, names(tracker.observe(step.object, step.results))); diff != "" {
			t.Errorf("%s: new denials (-want +got):\n%s", step.name, diff)
		}
		if diff := cmp.Diff(step.wantDenied, tracker.Denied()); diff != "" {
			t.Errorf("%s: Denied() (-want +got):\n%s", step.name, diff)
		}
		if changed != step.wantChanged {
			t.Errorf("%s: Changed called = %t, want %t", step.name, changed, step.wantChanged)
		}
	}
}

func TestNilDenialTrackerTellsEveryDenial(t *testing.T) {
	var tracker *DenialTracker
	key := types.NamespacedName{Namespace: "default", Name: "web"}
	results := []clusterResult{deniedResult("cce", listConfigMaps, typesv1beta1.CachedRetrievalFailed), okResult("local")}
	for range 2 {
		if diff := cmp.Diff([]string{"cce"}, names(tracker.observe(key, results))); diff != "" {
			t.Errorf("new denials (-want +got):\n%s", diff)
		}
	}
	if got := tracker.Denied(); got != nil {
		t.Errorf("Denied() = %v, want nil", got)
	}
}

func TestDenialMessage(t *testing.T) {
	many := make([]clusterResult, 0, 12)
	for i := range 12 {
		many = append(many, deniedResult(fmt.Sprintf("m%02d", i), listConfigMaps, typesv1beta1.CachedRetrievalFailed))
	}
	unlisted := deniedResult("other", listConfigMaps, typesv1beta1.CachedRetrievalFailed)
	unlisted.decision.Listed = false
	cases := []struct {
		name    string
		results []clusterResult
		want    string
	}{
		{name: "no denial", results: []clusterResult{okResult("local")}, want: ""},
		{
			name:    "one cluster names itself in the command",
			results: []clusterResult{okResult("local"), deniedResult("cce", listConfigMaps, typesv1beta1.CachedRetrievalFailed)},
			want:    `cluster cce denies list on configmaps: run "fedctl join cce" again to grant it`,
		},
		{
			name: "clusters denying the same are named together, in order; requests in order",
			results: []clusterResult{
				deniedResult("local", patchConfigMaps, typesv1beta1.UpdateFailed),
				deniedResult("cce", listConfigMaps, typesv1beta1.CachedRetrievalFailed),
				deniedResult("aws", listConfigMaps, typesv1beta1.CachedRetrievalFailed),
			},
			want: `clusters aws, cce deny list on configmaps: run "fedctl join <cluster>" again for each of them to grant it; ` +
				`cluster local denies patch on configmaps: run "fedctl join local" again to grant it`,
		},
		{
			name:    "a group's resource is named with its group",
			results: []clusterResult{deniedResult("cce", cluster.Denial{Verb: "create", Resource: schema.GroupResource{Group: "apps", Resource: "deployments"}}, typesv1beta1.CreationFailed)},
			want:    `cluster cce denies create on deployments.apps: run "fedctl join cce" again to grant it`,
		},
		{
			name:    "a cluster the status does not list is not told",
			results: []clusterResult{unlisted},
			want:    "",
		},
		{
			name:    "past ten clusters, the others are counted",
			results: many,
			want:    `clusters m00, m01, m02, m03, m04, m05, m06, m07, m08, m09 and 2 more deny list on configmaps: run "fedctl join <cluster>" again for each of them to grant it`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, denialMessage(tc.results)); diff != "" {
				t.Errorf("denialMessage() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJoinMessages(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{parts: []string{"", ""}, want: ""},
		{parts: []string{"placement failed", ""}, want: "placement failed"},
		{parts: []string{"", "cluster cce denies"}, want: "cluster cce denies"},
		{parts: []string{"placement failed", "cluster cce denies"}, want: "placement failed; cluster cce denies"},
	} {
		if got := joinMessages(tc.parts...); got != tc.want {
			t.Errorf("joinMessages(%q) = %q, want %q", tc.parts, got, tc.want)
		}
	}
}

func TestSetAccessCondition(t *testing.T) {
	allowed := metav1.Condition{
		Type: corev1beta1.MemberAccess, Status: metav1.ConditionTrue, Reason: corev1beta1.ReasonAccessAllowed,
		Message: "no member denied a request of the sync controller", ObservedGeneration: 2, LastTransitionTime: metav1.NewTime(ftcT0),
	}
	allowedNow := allowed
	allowedNow.LastTransitionTime = metav1.NewTime(ftcT1)
	running := metav1.Condition{Type: corev1beta1.PropagationControllerRunning, Status: metav1.ConditionTrue, Reason: corev1beta1.ReasonControllerRunning, LastTransitionTime: metav1.NewTime(ftcT0)}
	denied := map[string][]cluster.Denial{
		"local": {{Verb: "patch", Resource: configMapsResource}, {Verb: "update", Resource: schema.GroupResource{Resource: "configmaps/status"}}},
		"cce":   {listConfigMaps},
	}
	deniedCondition := metav1.Condition{
		Type: corev1beta1.MemberAccess, Status: metav1.ConditionFalse, Reason: corev1beta1.ReasonAccessDenied,
		Message: `clusters deny requests on configmaps: cce (list), local (patch, update on configmaps/status); ` +
			`run "fedctl join <cluster>" again for each of them to grant them`,
		ObservedGeneration: 2, LastTransitionTime: metav1.NewTime(ftcT1),
	}
	cases := []struct {
		name    string
		current []metav1.Condition
		running bool
		denied  map[string][]cluster.Denial
		want    []metav1.Condition
	}{
		{name: "running, nothing denied: True", current: []metav1.Condition{running}, running: true, want: []metav1.Condition{running, allowedNow}},
		{
			name: "running, denied: False with the clusters sorted and their verbs", current: []metav1.Condition{running, allowed}, running: true, denied: denied,
			want: []metav1.Condition{running, deniedCondition},
		},
		{
			name: "access back: True again", current: []metav1.Condition{running, deniedCondition}, running: true,
			want: []metav1.Condition{running, allowedNow},
		},
		{name: "still allowed: the transition time is kept", current: []metav1.Condition{allowed}, running: true, want: []metav1.Condition{allowed}},
		{name: "not running: no condition", current: []metav1.Condition{running, deniedCondition}, denied: denied, want: []metav1.Condition{running}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := append([]metav1.Condition(nil), tc.current...)
			setAccessCondition(&got, tc.running, tc.denied, configMapsResource, 2, ftcT1)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAccessDeniedMessageCountsClustersPastTen(t *testing.T) {
	denied := map[string][]cluster.Denial{}
	for i := range 11 {
		denied[fmt.Sprintf("m%02d", i)] = []cluster.Denial{listConfigMaps}
	}
	want := `clusters deny requests on configmaps: m00 (list), m01 (list), m02 (list), m03 (list), m04 (list), m05 (list), ` +
		`m06 (list), m07 (list), m08 (list), m09 (list) and 1 more; run "fedctl join <cluster>" again for each of them to grant them`
	if got := accessDeniedMessage(denied, configMapsResource); got != want {
		t.Errorf("accessDeniedMessage() = %q, want %q", got, want)
	}
}
