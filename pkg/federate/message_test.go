package federate

import (
	"fmt"
	"testing"
)

func TestUnknownClustersMessage(t *testing.T) {
	names := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("c%02d", i)
		}
		return out
	}
	cases := []struct {
		name  string
		names []string
		want  string
	}{
		{
			name: "one name", names: []string{"cee"},
			want: "spec.placement.clusters names 1 cluster that is not registered; it is ignored: cee",
		},
		{
			name: "ten names are all named", names: names(10),
			want: "spec.placement.clusters names 10 clusters that are not registered; they are ignored: c00, c01, c02, c03, c04, c05, c06, c07, c08, c09",
		},
		{
			name: "beyond ten, the others are counted", names: names(11),
			want: "spec.placement.clusters names 11 clusters that are not registered; they are ignored: c00, c01, c02, c03, c04, c05, c06, c07, c08, c09 and 1 more",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := unknownClustersMessage(tc.names); got != tc.want {
				t.Errorf("unknownClustersMessage() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDeletionMessage(t *testing.T) {
	many := []string{"c00", "c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10", "c11"}
	cases := []struct {
		name     string
		clusters []string
		orphan   bool
		want     string
	}{
		{name: "waiting for nothing says nothing"},
		{
			name: "one copy to remove", clusters: []string{"cce"},
			want: "Being deleted: waiting for its copy in cluster cce to be removed",
		},
		{
			name: "orphaned copies lose the label", clusters: []string{"cce", "local"}, orphan: true,
			want: "Being deleted: waiting for its copies in 2 clusters to lose the managed label: cce, local",
		},
		{
			name: "beyond ten clusters, the others are counted", clusters: many,
			want: "Being deleted: waiting for its copies in 12 clusters to be removed: c00, c01, c02, c03, c04, c05, c06, c07, c08, c09 and 2 more",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := deletionMessage(tc.clusters, tc.orphan); got != tc.want {
				t.Errorf("deletionMessage() = %q, want %q", got, tc.want)
			}
		})
	}
}
