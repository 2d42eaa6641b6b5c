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
