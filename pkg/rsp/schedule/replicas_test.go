package schedule

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

func raw(v any) *typesv1beta1.Raw {
	b, _ := json.Marshal(v)
	return &typesv1beta1.Raw{JSON: b}
}

func TestWithReplicas(t *testing.T) {
	image := typesv1beta1.Override{Path: "/spec/template/spec/containers/0/image", Value: raw("x")}
	oldReplicas := typesv1beta1.Override{Path: "/spec/replicas", Value: raw(1)}
	replicas := func(n int64) typesv1beta1.Override {
		return typesv1beta1.Override{Op: "add", Path: "/spec/replicas", Value: raw(n)}
	}
	cases := []struct {
		name     string
		in       []typesv1beta1.ClusterOverrides
		replicas map[string]int64
		want     []typesv1beta1.ClusterOverrides
	}{
		{
			name:     "new clusters are added sorted by name",
			replicas: map[string]int64{"b": 2, "a": 1},
			want: []typesv1beta1.ClusterOverrides{
				{ClusterName: "a", ClusterOverrides: []typesv1beta1.Override{replicas(1)}},
				{ClusterName: "b", ClusterOverrides: []typesv1beta1.Override{replicas(2)}},
			},
		},
		{
			name: "an existing replicas override keeps its place and others are kept",
			in: []typesv1beta1.ClusterOverrides{
				{ClusterName: "z", ClusterOverrides: []typesv1beta1.Override{oldReplicas, image}},
				{ClusterName: "y", ClusterOverrides: []typesv1beta1.Override{image}},
			},
			replicas: map[string]int64{"z": 5, "y": 6, "a": 7},
			want: []typesv1beta1.ClusterOverrides{
				{ClusterName: "z", ClusterOverrides: []typesv1beta1.Override{replicas(5), image}},
				{ClusterName: "y", ClusterOverrides: []typesv1beta1.Override{image, replicas(6)}},
				{ClusterName: "a", ClusterOverrides: []typesv1beta1.Override{replicas(7)}},
			},
		},
		{
			name: "clusters without planned replicas are left as written",
			in: []typesv1beta1.ClusterOverrides{
				{ClusterName: "gone", ClusterOverrides: []typesv1beta1.Override{oldReplicas}},
			},
			replicas: map[string]int64{},
			want: []typesv1beta1.ClusterOverrides{
				{ClusterName: "gone", ClusterOverrides: []typesv1beta1.Override{oldReplicas}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := json.Marshal(tc.in)
			got := WithReplicas(tc.in, tc.replicas)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("WithReplicas() (-want +got):\n%s", diff)
			}
			if after, _ := json.Marshal(tc.in); string(after) != string(before) {
				t.Errorf("WithReplicas() modified its input")
			}
		})
	}
}
