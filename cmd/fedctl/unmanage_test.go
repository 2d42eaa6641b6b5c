package main

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
)

// copyWith is a member object with labels and annotations.
func copyWith(labels, annotations map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetLabels(labels)
	u.SetAnnotations(annotations)
	return u
}

func TestOwnCopy(t *testing.T) {
	managed := map[string]string{contract.ManagedLabel: "true"}
	marks := func(id, cluster string) map[string]string {
		return map[string]string{contract.ControlPlaneAnnotation: id, contract.ClusterAnnotation: cluster}
	}
	tests := []struct {
		name        string
		labels, ann map[string]string
		id          string
		want        bool
	}{
		{name: "this control plane's copy for this registration", labels: managed, ann: marks("cp", "a"), id: "cp", want: true},
		{name: "another control plane's copy", labels: managed, ann: marks("other", "a"), id: "cp"},
		{name: "a copy for another registration of the same member", labels: managed, ann: marks("cp", "b"), id: "cp"},
		{name: "without the control plane's mark", labels: managed, ann: map[string]string{contract.ClusterAnnotation: "a"}, id: "cp"},
		{name: "without the registration's mark", labels: managed, ann: map[string]string{contract.ControlPlaneAnnotation: "cp"}, id: "cp"},
		{name: "not labelled managed", labels: map[string]string{contract.ManagedLabel: "false"}, ann: marks("cp", "a"), id: "cp"},
		{name: "no control-plane id to match", labels: managed, ann: marks("", "a"), id: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ownCopy(copyWith(tt.labels, tt.ann), tt.id, "a"); got != tt.want {
				t.Errorf("ownCopy() = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestUnmanagePatch(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		want []jsonPatchOp
	}{
		{
			name: "the marks are tested, then removed with the applied hash",
			ann:  map[string]string{contract.ControlPlaneAnnotation: "cp", contract.ClusterAnnotation: "a", contract.AppliedAnnotation: "sum", "team": "shop"},
			want: []jsonPatchOp{
				{Op: "test", Path: "/metadata/labels/kubefed.io~1managed", Value: "true"},
				{Op: "test", Path: "/metadata/annotations/fedplane.io~1control-plane-id", Value: "cp"},
				{Op: "test", Path: "/metadata/annotations/fedplane.io~1cluster", Value: "a"},
				{Op: "remove", Path: "/metadata/labels/kubefed.io~1managed"},
				{Op: "remove", Path: "/metadata/annotations/fedplane.io~1control-plane-id"},
				{Op: "remove", Path: "/metadata/annotations/fedplane.io~1cluster"},
				{Op: "remove", Path: "/metadata/annotations/fedplane.io~1applied"},
			},
		},
		{
			name: "an applied hash that is not there is not removed",
			ann:  map[string]string{contract.ControlPlaneAnnotation: "cp", contract.ClusterAnnotation: "a"},
			want: []jsonPatchOp{
				{Op: "test", Path: "/metadata/labels/kubefed.io~1managed", Value: "true"},
				{Op: "test", Path: "/metadata/annotations/fedplane.io~1control-plane-id", Value: "cp"},
				{Op: "test", Path: "/metadata/annotations/fedplane.io~1cluster", Value: "a"},
				{Op: "remove", Path: "/metadata/labels/kubefed.io~1managed"},
				{Op: "remove", Path: "/metadata/annotations/fedplane.io~1control-plane-id"},
				{Op: "remove", Path: "/metadata/annotations/fedplane.io~1cluster"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := unmanagePatch(copyWith(map[string]string{contract.ManagedLabel: "true"}, tt.ann))
			if err != nil {
				t.Fatal(err)
			}
			var got []jsonPatchOp
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("unmanagePatch() (-want +got):\n%s", diff)
			}
		})
	}
}
