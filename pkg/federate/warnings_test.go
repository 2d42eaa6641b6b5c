package federate

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/overrides"
	"github.com/fedplane/fedplane/pkg/placement"
	"github.com/fedplane/fedplane/pkg/render"
)

var (
	droppedAnnotations = render.Warning{Reason: overrides.AnnotationsNotSupported, Message: "annotations dropped"}
	droppedFinalizers  = render.Warning{Reason: overrides.FinalizersNotSupported, Message: "finalizers dropped"}
)

func TestWarningsMessage(t *testing.T) {
	cases := []struct {
		name    string
		results []clusterResult
		want    string
	}{
		{name: "no warning, no message", results: []clusterResult{{name: "a"}, {name: "b"}}},
		{
			name:    "one warning of one cluster",
			results: []clusterResult{{name: "a", warnings: []render.Warning{droppedAnnotations}}, {name: "b"}},
			want:    "AnnotationsNotSupported in cluster a: annotations dropped",
		},
		{
			name: "a warning of several clusters is told once, the clusters in order, and the warnings in the order of their reasons",
			results: []clusterResult{
				{name: "c", warnings: []render.Warning{droppedFinalizers, droppedAnnotations}},
				{name: "a", warnings: []render.Warning{droppedAnnotations}},
			},
			want: "AnnotationsNotSupported in clusters a, c: annotations dropped; FinalizersNotSupported in cluster c: finalizers dropped",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, warningsMessage(tc.results)); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatusInputTellsTheRenderWarnings(t *testing.T) {
	cases := []struct {
		name    string
		overall condition
		want    string
	}{
		{name: "the warnings are the message", want: "AnnotationsNotSupported in cluster a: annotations dropped"},
		{
			name: "the warnings come after what concerns the whole object", overall: condition{message: "whole"},
			want: "whole; AnnotationsNotSupported in cluster a: annotations dropped",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &SyncReconciler{Now: func() time.Time { return mustTime(t, t0) }}
			s := scope{fed: newFed().build(), synced: true, complete: true, overall: tc.overall, results: []clusterResult{
				{name: "a", decision: ClusterDecision{Listed: true}, warnings: []render.Warning{droppedAnnotations}},
			}}
			in, ok := r.statusInput(&s)
			if !ok {
				t.Fatal("no status to write")
			}
			if diff := cmp.Diff(tc.want, in.Message); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideClusterKeepsTheRenderWarnings(t *testing.T) {
	r := &SyncReconciler{Type: configMapType(false), ControlPlaneID: thisControlPlane}
	fed := newFed().set(map[string]any{"note": "x"}, "spec", "template", "metadata", "annotations")
	in := ClusterInput{Selected: true, Ready: true, ControlPlaneID: thisControlPlane, ClusterName: thisCluster}
	desired, res := r.decideCluster(fed.scope(t), placement.Decision{Name: thisCluster, Selected: true, Ready: true}, in, clusterResult{name: thisCluster})
	if desired.Desired == nil || res.status != typesv1beta1.ClusterPropagationOK {
		t.Fatalf("the object is not rendered: status %q", res.status)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(desired.Desired.Object, "metadata", "annotations", "note"); found {
		t.Error("the template's annotation is propagated")
	}
	var reasons []overrides.Reason
	for _, w := range res.warnings {
		reasons = append(reasons, w.Reason)
	}
	if diff := cmp.Diff([]overrides.Reason{overrides.AnnotationsNotSupported}, reasons); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestStatusInputTellsWhyObjectsCouldNotBeRendered(t *testing.T) {
	r := &SyncReconciler{Now: func() time.Time { return mustTime(t, t0) }}
	s := scope{fed: newFed().build(), synced: true, complete: true, results: []clusterResult{
		{name: "a", decision: ClusterDecision{Listed: true}, status: typesv1beta1.ApplyOverridesFailed, renderFailure: "failed to fill in the template value at /data/x: bad"},
		{name: "b", decision: ClusterDecision{Listed: true}, warnings: []render.Warning{droppedAnnotations}},
		{name: "c", decision: ClusterDecision{Listed: true}, status: typesv1beta1.ComputeResourceFailed, renderFailure: "labels are not a map"},
	}}
	in, ok := r.statusInput(&s)
	if !ok {
		t.Fatal("no status to write")
	}
	want := "ApplyOverridesFailed in cluster a: failed to fill in the template value at /data/x: bad; " +
		"ComputeResourceFailed in cluster c: labels are not a map; AnnotationsNotSupported in cluster b: annotations dropped"
	if diff := cmp.Diff(want, in.Message); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
}
