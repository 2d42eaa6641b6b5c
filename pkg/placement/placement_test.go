package placement

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// cluster builds a registered cluster; labels are given as key, value pairs.
func cluster(name string, ready bool, kv ...string) Cluster {
	c := Cluster{Name: name, Ready: ready}
	if len(kv) > 0 {
		c.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			c.Labels[kv[i]] = kv[i+1]
		}
	}
	return c
}

// placementBuilder builds a typesv1beta1.Placement fluently.
type placementBuilder struct{ p typesv1beta1.Placement }

func newPlacement() *placementBuilder { return &placementBuilder{} }

// clusters sets placement.clusters; calling it with no names gives a non-nil empty list.
func (b *placementBuilder) clusters(names ...string) *placementBuilder {
	b.p.Clusters = []typesv1beta1.ClusterReference{}
	for _, n := range names {
		b.p.Clusters = append(b.p.Clusters, typesv1beta1.ClusterReference{Name: n})
	}
	return b
}

// selector sets placement.clusterSelector to an empty selector plus the given labels.
func (b *placementBuilder) selector(kv ...string) *placementBuilder {
	b.p.ClusterSelector = &metav1.LabelSelector{}
	if len(kv) > 0 {
		b.p.ClusterSelector.MatchLabels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			b.p.ClusterSelector.MatchLabels[kv[i]] = kv[i+1]
		}
	}
	return b
}

// expr adds a matchExpressions requirement, creating the selector when needed.
func (b *placementBuilder) expr(key string, op metav1.LabelSelectorOperator, values ...string) *placementBuilder {
	if b.p.ClusterSelector == nil {
		b.p.ClusterSelector = &metav1.LabelSelector{}
	}
	b.p.ClusterSelector.MatchExpressions = append(b.p.ClusterSelector.MatchExpressions,
		metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values})
	return b
}

func (b *placementBuilder) build() typesv1beta1.Placement { return b.p }

func (b *placementBuilder) ptr() *typesv1beta1.Placement { p := b.p; return &p }

func selected(name string, ready bool) Decision {
	d := Decision{Name: name, Selected: true, Ready: ready}
	if !ready {
		d.Reason = ClusterNotReady
	}
	return d
}

func rejected(name string, ready bool, reason Reason) Decision {
	return Decision{Name: name, Ready: ready, Reason: reason}
}

// The two clusters of the seed walkthrough: local (region on-prem) and cce (region cloud, foo=bar).
var (
	local = cluster("local", true, "region", "on-prem")
	cce   = cluster("cce", true, "region", "cloud", "foo", "bar")
)

func TestResolve(t *testing.T) {
	cases := []struct {
		name    string
		in      Input
		want    Result
		wantErr bool
	}{
		{
			name: "seed 02: clusters wins over a selector that matches only cce",
			in: Input{
				Placement:          newPlacement().clusters("cce", "local").selector("foo", "bar").build(),
				Namespaced:         true,
				NamespacePlacement: newPlacement().clusters("local", "cce").ptr(),
				Clusters:           []Cluster{local, cce},
			},
			want: Result{
				Selected:  []string{"cce", "local"},
				Writable:  []string{"cce", "local"},
				Decisions: []Decision{selected("cce", true), selected("local", true)},
			},
		},
		{
			name: "seed 03: an empty clusterSelector selects every cluster",
			in: Input{
				Placement:          newPlacement().selector().build(),
				Namespaced:         true,
				NamespacePlacement: newPlacement().clusters("local", "cce").ptr(),
				Clusters:           []Cluster{local, cce},
			},
			want: Result{
				Selected:  []string{"cce", "local"},
				Writable:  []string{"cce", "local"},
				Decisions: []Decision{selected("cce", true), selected("local", true)},
			},
		},
		{
			name: "a listed subset is selected and the rest is not in the list",
			in: Input{
				Placement: newPlacement().clusters("local").build(),
				Clusters:  []Cluster{local, cce},
			},
			want: Result{
				Selected:  []string{"local"},
				Writable:  []string{"local"},
				Decisions: []Decision{rejected("cce", true, NotInClusterList), selected("local", true)},
			},
		},
		{
			name: "an empty non-nil clusters list selects nothing even with an empty selector",
			in: Input{
				Placement: newPlacement().clusters().selector().build(),
				Clusters:  []Cluster{local, cce},
			},
			want: Result{
				Decisions: []Decision{rejected("cce", true, NotInClusterList), rejected("local", true, NotInClusterList)},
			},
		},
		{
			name: "neither clusters nor selector selects nothing",
			in: Input{
				Clusters: []Cluster{local, cce},
			},
			want: Result{
				Decisions: []Decision{rejected("cce", true, NoPlacement), rejected("local", true, NoPlacement)},
			},
		},
		{
			name: "matchLabels selects the matching clusters only",
			in: Input{
				Placement: newPlacement().selector("foo", "bar").build(),
				Clusters:  []Cluster{local, cce},
			},
			want: Result{
				Selected:  []string{"cce"},
				Writable:  []string{"cce"},
				Decisions: []Decision{selected("cce", true), rejected("local", true, NotMatchingSelector)},
			},
		},
		{
			name: "matchLabels and matchExpressions must all hold",
			in: Input{
				Placement: newPlacement().selector("tier", "prod").
					expr("region", metav1.LabelSelectorOpIn, "eu", "us").
					expr("legacy", metav1.LabelSelectorOpDoesNotExist).build(),
				Clusters: []Cluster{
					cluster("a", true, "tier", "prod", "region", "eu"),
					cluster("b", true, "tier", "prod", "region", "ap"),
					cluster("c", true, "tier", "dev", "region", "us"),
					cluster("d", true, "tier", "prod", "region", "us", "legacy", "yes"),
					cluster("e", true, "tier", "prod", "region", "us"),
				},
			},
			want: Result{
				Selected: []string{"a", "e"},
				Writable: []string{"a", "e"},
				Decisions: []Decision{
					selected("a", true),
					rejected("b", true, NotMatchingSelector),
					rejected("c", true, NotMatchingSelector),
					rejected("d", true, NotMatchingSelector),
					selected("e", true),
				},
			},
		},
		{
			name: "NotIn and Exists expressions",
			in: Input{
				Placement: newPlacement().expr("region", metav1.LabelSelectorOpNotIn, "cloud").
					expr("region", metav1.LabelSelectorOpExists).build(),
				Clusters: []Cluster{local, cce, cluster("bare", true)},
			},
			want: Result{
				Selected: []string{"local"},
				Writable: []string{"local"},
				Decisions: []Decision{
					rejected("bare", true, NotMatchingSelector),
					rejected("cce", true, NotMatchingSelector),
					selected("local", true),
				},
			},
		},
		{
			name: "a selector with an unknown operator is an error",
			in: Input{
				Placement: newPlacement().expr("region", "Near", "eu").build(),
				Clusters:  []Cluster{local},
			},
			wantErr: true,
		},
		{
			name: "an In expression without values is an error",
			in: Input{
				Placement: newPlacement().expr("region", metav1.LabelSelectorOpIn).build(),
				Clusters:  []Cluster{local},
			},
			wantErr: true,
		},
		{
			name: "an invalid label key in matchLabels is an error",
			in: Input{
				Placement: newPlacement().selector("bad key!", "x").build(),
				Clusters:  []Cluster{local},
			},
			wantErr: true,
		},
		{
			name: "an invalid selector is an error even when clusters is empty",
			in: Input{
				Placement: newPlacement().expr("region", "Near").build(),
			},
			wantErr: true,
		},
		{
			name: "an invalid selector is ignored when clusters is set",
			in: Input{
				Placement: newPlacement().clusters("local").expr("region", "Near").build(),
				Clusters:  []Cluster{local},
			},
			want: Result{
				Selected:  []string{"local"},
				Writable:  []string{"local"},
				Decisions: []Decision{selected("local", true)},
			},
		},
		{
			name: "listed names that are not registered are reported once, sorted",
			in: Input{
				Placement: newPlacement().clusters("zeta", "local", "alpha", "zeta").build(),
				Clusters:  []Cluster{local, cce},
			},
			want: Result{
				Selected:        []string{"local"},
				Writable:        []string{"local"},
				Decisions:       []Decision{rejected("cce", true, NotInClusterList), selected("local", true)},
				UnknownClusters: []string{"alpha", "zeta"},
			},
		},
		{
			name: "a selected cluster that is not ready stays selected but is not writable",
			in: Input{
				Placement: newPlacement().clusters("local", "cce").build(),
				Clusters:  []Cluster{local, cluster("cce", false, "foo", "bar")},
			},
			want: Result{
				Selected:  []string{"cce", "local"},
				Writable:  []string{"local"},
				Decisions: []Decision{selected("cce", false), selected("local", true)},
			},
		},
		{
			name: "a cluster that is neither selected nor ready carries the placement reason",
			in: Input{
				Placement: newPlacement().selector("foo", "bar").build(),
				Clusters:  []Cluster{cce, cluster("local", false)},
			},
			want: Result{
				Selected:  []string{"cce"},
				Writable:  []string{"cce"},
				Decisions: []Decision{selected("cce", true), rejected("local", false, NotMatchingSelector)},
			},
		},
		{
			name: "a namespaced object is limited to its namespace's placement",
			in: Input{
				Placement:          newPlacement().selector().build(),
				Namespaced:         true,
				NamespacePlacement: newPlacement().clusters("local").ptr(),
				Clusters:           []Cluster{local, cce},
			},
			want: Result{
				Selected:  []string{"local"},
				Writable:  []string{"local"},
				Decisions: []Decision{rejected("cce", true, NotInNamespacePlacement), selected("local", true)},
			},
		},
		{
			name: "the namespace placement uses the same rules: a selector",
			in: Input{
				Placement:          newPlacement().clusters("local", "cce").build(),
				Namespaced:         true,
				NamespacePlacement: newPlacement().selector("region", "cloud").ptr(),
				Clusters:           []Cluster{local, cce},
			},
			want: Result{
				Selected:  []string{"cce"},
				Writable:  []string{"cce"},
				Decisions: []Decision{selected("cce", true), rejected("local", true, NotInNamespacePlacement)},
			},
		},
		{
			name: "a namespace placement with neither clusters nor selector admits nothing",
			in: Input{
				Placement:          newPlacement().selector().build(),
				Namespaced:         true,
				NamespacePlacement: newPlacement().ptr(),
				Clusters:           []Cluster{local, cce},
			},
			want: Result{
				Decisions: []Decision{rejected("cce", true, NotInNamespacePlacement), rejected("local", true, NotInNamespacePlacement)},
			},
		},
		{
			name: "the object's own reason comes before the namespace's",
			in: Input{
				Placement:          newPlacement().clusters("local").build(),
				Namespaced:         true,
				NamespacePlacement: newPlacement().clusters().ptr(),
				Clusters:           []Cluster{local, cce},
			},
			want: Result{
				Decisions: []Decision{rejected("cce", true, NotInClusterList), rejected("local", true, NotInNamespacePlacement)},
			},
		},
		{
			name: "a namespaced object without a FederatedNamespace is placed nowhere",
			in: Input{
				Placement:  newPlacement().selector().build(),
				Namespaced: true,
				Clusters:   []Cluster{local, cluster("cce", false)},
			},
			want: Result{
				Decisions: []Decision{rejected("cce", false, NamespaceNotFederated), rejected("local", true, NamespaceNotFederated)},
				Reason:    NamespaceNotFederated,
			},
		},
		{
			name: "the FederatedNamespace itself is placed by its own placement",
			in: Input{
				Placement:            newPlacement().clusters("local", "cce").build(),
				Namespaced:           true,
				IsFederatedNamespace: true,
				Clusters:             []Cluster{local, cce},
			},
			want: Result{
				Selected:  []string{"cce", "local"},
				Writable:  []string{"cce", "local"},
				Decisions: []Decision{selected("cce", true), selected("local", true)},
			},
		},
		{
			name: "a cluster-scoped object ignores any namespace placement",
			in: Input{
				Placement:          newPlacement().selector().build(),
				NamespacePlacement: newPlacement().clusters().ptr(),
				Clusters:           []Cluster{local, cce},
			},
			want: Result{
				Selected:  []string{"cce", "local"},
				Writable:  []string{"cce", "local"},
				Decisions: []Decision{selected("cce", true), selected("local", true)},
			},
		},
		{
			name: "an invalid namespace selector is an error",
			in: Input{
				Placement:          newPlacement().selector().build(),
				Namespaced:         true,
				NamespacePlacement: newPlacement().expr("x", "Bogus").ptr(),
				Clusters:           []Cluster{local},
			},
			wantErr: true,
		},
		{
			name: "a cluster registered twice is an error",
			in: Input{
				Placement: newPlacement().selector().build(),
				Clusters:  []Cluster{local, cce, local},
			},
			wantErr: true,
		},
		{
			name: "no registered clusters: nothing selected and every listed name unknown",
			in: Input{
				Placement: newPlacement().clusters("local").build(),
			},
			want: Result{
				Decisions:       []Decision{},
				UnknownClusters: []string{"local"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Resolve() error = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Resolve() mismatch (-want +got):\n%s", diff)
			}
			for _, d := range got.Decisions {
				if d.Writable() != (d.Selected && d.Ready && d.Reason == "") {
					t.Errorf("decision %+v: Writable() disagrees with Selected, Ready and Reason", d)
				}
			}
		})
	}
}

// TestResolveKeepsNilAndEmptyApart checks that decoding keeps `clusters: []` (select nothing)
// apart from a missing clusters field (let the selector decide).
func TestResolveKeepsNilAndEmptyApart(t *testing.T) {
	cases := []struct {
		name string
		json string
		want []string
	}{
		{name: "clusters [] wins over an empty selector", json: `{"clusters": [], "clusterSelector": {}}`, want: nil},
		{name: "missing clusters lets the empty selector decide", json: `{"clusterSelector": {}}`, want: []string{"cce", "local"}},
		{name: "clusters null lets the empty selector decide", json: `{"clusters": null, "clusterSelector": {}}`, want: []string{"cce", "local"}},
		{name: "empty placement selects nothing", json: `{}`, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p typesv1beta1.Placement
			if err := json.Unmarshal([]byte(tc.json), &p); err != nil {
				t.Fatalf("failed to decode placement: %v", err)
			}
			got, err := Resolve(Input{Placement: p, Clusters: []Cluster{local, cce}})
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got.Selected); diff != "" {
				t.Errorf("Selected mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveDoesNotMutateInput(t *testing.T) {
	in := Input{
		Placement: newPlacement().clusters("local").build(),
		Clusters:  []Cluster{local, cce},
	}
	before := []Cluster{local, cce}
	if _, err := Resolve(in); err != nil {
		t.Fatalf("Resolve() error = %v", err)
	}
	if diff := cmp.Diff(before, in.Clusters); diff != "" {
		t.Errorf("Resolve() changed its input clusters (-want +got):\n%s", diff)
	}
}

func BenchmarkResolve(b *testing.B) {
	clusters := make([]Cluster, 1000)
	names := make([]string, 0, 500)
	for i := range clusters {
		name := fmt.Sprintf("cluster-%04d", 999-i)
		region := []string{"eu", "us", "ap", "sa"}[i%4]
		clusters[i] = cluster(name, i%10 != 0, "region", region, "tier", "prod")
		if i%2 == 0 {
			names = append(names, name)
		}
	}
	in := Input{
		Placement:          newPlacement().selector("tier", "prod").expr("region", metav1.LabelSelectorOpIn, "eu", "us").build(),
		Namespaced:         true,
		NamespacePlacement: newPlacement().clusters(names...).ptr(),
		Clusters:           clusters,
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := Resolve(in)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Decisions) != len(clusters) {
			b.Fatalf("got %d decisions, want %d", len(res.Decisions), len(clusters))
		}
	}
}
