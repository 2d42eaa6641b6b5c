package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/placement"
	"github.com/fedplane/fedplane/pkg/render"
)

// object is a small builder of federated objects.
type object struct{ u *unstructured.Unstructured }

func federated(kind, namespace, name string) object {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"replicas": int64(1)}}},
	}}
	if namespace == "" {
		unstructured.RemoveNestedField(u.Object, "metadata", "namespace")
	}
	return object{u}
}

func (o object) clusters(names ...string) object {
	list := []any{}
	for _, n := range names {
		list = append(list, map[string]any{"name": n})
	}
	_ = unstructured.SetNestedSlice(o.u.Object, list, "spec", "placement", "clusters")
	return o
}

func (o object) selector(labels map[string]any) object {
	_ = unstructured.SetNestedField(o.u.Object, map[string]any{"matchLabels": labels}, "spec", "placement", "clusterSelector")
	return o
}

var types = map[string]TargetType{
	"FederatedNamespace":   {APIVersion: "v1", Kind: "Namespace"},
	"FederatedClusterRole": {APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
	"FederatedDeployment":  {APIVersion: "apps/v1", Kind: "Deployment", Namespaced: true},
}

// summary is what a test checks of a cluster's plan.
type summary struct {
	Selected  bool
	Reason    string
	Replicas  *int64
	HasObject bool
}

func summarize(item Item) map[string]summary {
	out := map[string]summary{}
	for _, c := range item.Clusters {
		out[c.Name] = summary{Selected: c.Selected, Reason: c.Reason, Replicas: c.Replicas, HasObject: c.Object != nil}
	}
	return out
}

func n(v int64) *int64 { return &v }

func TestCompute(t *testing.T) {
	clusters := []placement.Cluster{
		{Name: "a", Labels: map[string]string{"env": "prod"}, Ready: true},
		{Name: "b", Labels: map[string]string{"env": "dev"}, Ready: true},
		{Name: "c", Labels: map[string]string{"env": "prod"}, Ready: false},
	}
	ns := federated("FederatedNamespace", "shop", "shop").selector(map[string]any{})
	cases := []struct {
		name       string
		objects    []object
		prefs      []schedulingv1alpha1.ReplicaSchedulingPreference
		item       string
		want       map[string]summary
		wantErrors int
	}{
		{
			name:    "a selected cluster that is not ready keeps its place and gets an object",
			objects: []object{ns, federated("FederatedDeployment", "shop", "web").clusters("a", "c")},
			item:    "web",
			want: map[string]summary{
				"a": {Selected: true, HasObject: true},
				"b": {Reason: "NotInClusterList"},
				"c": {Selected: true, Reason: "ClusterNotReady", HasObject: true},
			},
		},
		{
			name:    "without a FederatedNamespace a namespaced object goes nowhere, and says why",
			objects: []object{federated("FederatedDeployment", "shop", "web").clusters("a")},
			item:    "web",
			want: map[string]summary{
				"a": {Reason: "NamespaceNotFederated"},
				"b": {Reason: "NamespaceNotFederated"},
				"c": {Reason: "ClusterNotReady"},
			},
			wantErrors: 1,
		},
		{
			name:    "a cluster-scoped object is not limited by any namespace placement",
			objects: []object{federated("FederatedClusterRole", "", "reader").clusters("a", "b")},
			item:    "reader",
			want: map[string]summary{
				"a": {Selected: true, HasObject: true},
				"b": {Selected: true, HasObject: true},
				"c": {Reason: "ClusterNotReady"},
			},
		},
		{
			name:       "an unknown federated kind is an error for the object",
			objects:    []object{federated("FederatedWidget", "shop", "w").clusters("a")},
			item:       "w",
			want:       map[string]summary{"a": {Reason: ReasonUnknownType}, "b": {Reason: ReasonUnknownType}, "c": {Reason: ReasonUnknownType}},
			wantErrors: 1,
		},
		{
			name:    "a preference spreads over ready clusters only",
			objects: []object{ns, federated("FederatedDeployment", "shop", "web").selector(map[string]any{})},
			prefs:   []schedulingv1alpha1.ReplicaSchedulingPreference{rsp(false)},
			item:    "web",
			want: map[string]summary{
				"a": {Selected: true, Replicas: n(3), HasObject: true},
				"b": {Selected: true, Replicas: n(3), HasObject: true},
				"c": {Reason: "ClusterNotReady", Replicas: n(0)},
			},
		},
		{
			name:    "with intersectWithClusterSelector only matching clusters are candidates",
			objects: []object{ns, federated("FederatedDeployment", "shop", "web").selector(map[string]any{"env": "prod"})},
			prefs:   []schedulingv1alpha1.ReplicaSchedulingPreference{rsp(true)},
			item:    "web",
			want: map[string]summary{
				"a": {Selected: true, Replicas: n(6), HasObject: true},
				"b": {Reason: ReasonNoReplicas, Replicas: n(0)},
				"c": {Reason: "ClusterNotReady", Replicas: n(0)},
			},
		},
		{
			name: "a preference spreads over every Ready cluster, even one that the namespace does not place",
			objects: []object{federated("FederatedNamespace", "shop", "shop").clusters("a"),
				federated("FederatedDeployment", "shop", "web").selector(map[string]any{})},
			prefs: []schedulingv1alpha1.ReplicaSchedulingPreference{rsp(false)},
			item:  "web",
			want: map[string]summary{
				"a": {Selected: true, Replicas: n(3), HasObject: true},
				"b": {Reason: "NotInNamespacePlacement", Replicas: n(3)},
				"c": {Reason: "ClusterNotReady", Replicas: n(0)},
			},
		},
		{
			name: "with intersectWithClusterSelector a namespace placed by its cluster list alone gives no candidate, and says so",
			objects: []object{federated("FederatedNamespace", "shop", "shop").clusters("a"),
				federated("FederatedDeployment", "shop", "web").selector(map[string]any{})},
			prefs: []schedulingv1alpha1.ReplicaSchedulingPreference{rsp(true)},
			item:  "web",
			want: map[string]summary{
				"a": {Selected: true, Replicas: n(0), HasObject: true},
				"b": {Reason: "NotInNamespacePlacement", Replicas: n(0)},
				"c": {Reason: "ClusterNotReady", Replicas: n(0)},
			},
			wantErrors: 1,
		},
		{
			name:       "names that are not registered clusters are reported",
			objects:    []object{ns, federated("FederatedDeployment", "shop", "web").clusters("a", "typo")},
			item:       "web",
			want:       map[string]summary{"a": {Selected: true, HasObject: true}, "b": {Reason: "NotInClusterList"}, "c": {Reason: "ClusterNotReady"}},
			wantErrors: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Clusters: clusters, Types: types, Preferences: tc.prefs}
			for _, o := range tc.objects {
				in.Objects = append(in.Objects, o.u)
			}
			p := Compute(in)
			var item *Item
			for i := range p.Items {
				if p.Items[i].Name == tc.item {
					item = &p.Items[i]
				}
			}
			if item == nil {
				t.Fatalf("no item %s in %+v", tc.item, p)
			}
			if diff := cmp.Diff(tc.want, summarize(*item)); diff != "" {
				t.Errorf("clusters (-want +got):\n%s", diff)
			}
			if len(item.Errors) != tc.wantErrors {
				t.Errorf("got errors %v, want %d", item.Errors, tc.wantErrors)
			}
		})
	}
}

// rsp is the RSP shop/web of the cases: 6 replicas of a FederatedDeployment.
func rsp(intersect bool) schedulingv1alpha1.ReplicaSchedulingPreference {
	return schedulingv1alpha1.ReplicaSchedulingPreference{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{
			TargetKind: "FederatedDeployment", TotalReplicas: 6, IntersectWithClusterSelector: intersect,
		},
	}
}

func TestComputeIsStableWhateverTheInputOrder(t *testing.T) {
	ns := federated("FederatedNamespace", "shop", "shop").selector(map[string]any{})
	a := federated("FederatedDeployment", "shop", "a").selector(map[string]any{})
	b := federated("FederatedDeployment", "shop", "b").selector(map[string]any{})
	clusters := []placement.Cluster{{Name: "x", Ready: true}, {Name: "y", Ready: true}}
	one := Compute(Input{Clusters: clusters, Types: types, Objects: []*unstructured.Unstructured{ns.u, a.u, b.u}})
	two := Compute(Input{Clusters: []placement.Cluster{clusters[1], clusters[0]}, Types: types, Objects: []*unstructured.Unstructured{b.u, a.u, ns.u}})
	if diff := cmp.Diff(one, two); diff != "" {
		t.Errorf("plans differ with the input order (-first +second):\n%s", diff)
	}
}

func TestComputeRendersAsTheController(t *testing.T) {
	clusters := []placement.Cluster{{Name: "a", Ready: true}, {Name: "b", Ready: true}}
	ns := federated("FederatedNamespace", "shop", "shop").selector(map[string]any{})
	web := federated("FederatedDeployment", "shop", "web").selector(map[string]any{})
	_ = unstructured.SetNestedField(web.u.Object, true, "spec", "retainReplicas")
	_ = unstructured.SetNestedField(web.u.Object, map[string]any{"note": "x"}, "spec", "template", "metadata", "annotations")
	_ = unstructured.SetNestedSlice(web.u.Object, []any{map[string]any{"clusterName": "b", "clusterOverrides": []any{
		map[string]any{"path": "/spec/replicas", "value": int64(4)},
	}}}, "spec", "overrides")
	cases := []struct {
		name         string
		id           string
		wantWarnings []Warning
	}{
		{name: "with the control-plane id", id: "cp-a"},
		{
			name: "without the control-plane id the plan warns that the objects lack its annotations", wantWarnings: []Warning{{
				Reason:  ReasonControlPlaneIDUnknown,
				Message: "the control-plane id is not known, so the objects lack the annotations fedplane.io/control-plane-id and fedplane.io/applied that fed-controller sets; give it with --control-plane-id",
			}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Compute(Input{Clusters: clusters, Types: types, Objects: []*unstructured.Unstructured{ns.u, web.u}, ControlPlaneID: tc.id})
			if diff := cmp.Diff(tc.wantWarnings, p.Warnings); diff != "" {
				t.Errorf("plan warnings (-want +got):\n%s", diff)
			}
			item := p.Items[0]
			if item.Name != "web" {
				t.Fatalf("first item %s, want web", item.Name)
			}
			for _, c := range item.Clusters {
				want, err := render.Member(render.Input{Federated: web.u, Overrides: fedOverrides(t, web.u), Target: types["FederatedDeployment"], Cluster: c.Name, ControlPlaneID: tc.id, RetainReplicas: true})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want.Object.Object, c.Object); diff != "" {
					t.Errorf("cluster %s: the plan's object is not the controller's (-render +plan):\n%s", c.Name, diff)
				}
			}
			wantItemWarnings := []Warning{}
			for _, c := range []string{"a", "b"} {
				wantItemWarnings = append(wantItemWarnings, Warning{Cluster: c, Reason: "AnnotationsNotSupported",
					Message: "metadata.annotations is not propagated from the template, so that it does not fight controllers in member clusters; set annotations with an override instead"})
			}
			if diff := cmp.Diff(wantItemWarnings, item.Warnings); diff != "" {
				t.Errorf("item warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// fedOverrides decodes the object's spec.overrides as the controller does.
func fedOverrides(t *testing.T, u *unstructured.Unstructured) []typesv1beta1.ClusterOverrides {
	t.Helper()
	fo, err := decode(u)
	if err != nil {
		t.Fatal(err)
	}
	return fo.Spec.Overrides
}

func TestComputeGivesTheControlPlaneAnnotations(t *testing.T) {
	clusters := []placement.Cluster{{Name: "a", Ready: true}}
	role := federated("FederatedClusterRole", "", "reader").clusters("a")
	p := Compute(Input{Clusters: clusters, Types: types, Objects: []*unstructured.Unstructured{role.u}, ControlPlaneID: "cp-a"})
	got := (&unstructured.Unstructured{Object: p.Items[0].Clusters[0].Object}).GetAnnotations()
	if got[contract.ControlPlaneAnnotation] != "cp-a" || got[contract.ClusterAnnotation] != "a" || len(got[contract.AppliedAnnotation]) != 32 {
		t.Errorf("annotations %v, want the control plane cp-a, the cluster a and a hash", got)
	}
}

func TestComputeFillsInTemplateValuesAsTheController(t *testing.T) {
	clusters := []placement.Cluster{{Name: "a", Ready: true, Labels: map[string]string{"region": "eu"}}, {Name: "b", Ready: true}}
	d := federated("FederatedDeployment", "shop", "web").clusters("a", "b")
	_ = unstructured.SetNestedField(d.u.Object, "{{ .cluster }}-{{ .labels.region }}", "spec", "template", "spec", "serviceAccountName")
	d.u.SetAnnotations(map[string]string{contract.TemplateValuesAnnotation: "true"})
	ns := federated("FederatedNamespace", "shop", "shop").selector(map[string]any{})
	p := Compute(Input{Clusters: clusters, Types: types, Objects: []*unstructured.Unstructured{ns.u, d.u}})
	var item Item
	for _, it := range p.Items {
		if it.Kind == "FederatedDeployment" {
			item = it
		}
	}
	got, _, _ := unstructured.NestedString(item.Clusters[0].Object, "spec", "serviceAccountName")
	if got != "a-eu" {
		t.Errorf("cluster a: serviceAccountName %q, want a-eu", got)
	}
	if item.Clusters[1].Object != nil || len(item.Errors) != 1 || item.Errors[0].Cluster != "b" {
		t.Errorf("cluster b, which has no region label: object %v, errors %+v; want no object and its error", item.Clusters[1].Object, item.Errors)
	}
}
