package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOwnerOf(t *testing.T) {
	const host, other = "6d1c7f2e-host", "0b9a4c11-other"
	cases := []struct {
		name   string
		labels map[string]string
		hostID string
		want   ownership
	}{
		{name: "this host's join of this cluster", labels: joinLabels("local", host), hostID: host, want: ownJoin},
		{name: "another host's join of the same cluster", labels: joinLabels("local", other), hostID: host, want: otherJoin},
		{name: "this host's join of another cluster", labels: joinLabels("cce", host), hostID: host, want: otherJoin},
		{name: "an older join, without the host's mark", labels: joinLabels("local", ""), hostID: host, want: unmarkedJoin},
		{name: "an older join of another cluster", labels: joinLabels("cce", ""), hostID: host, want: otherJoin},
		{name: "a marked join, and the host's id is unknown", labels: joinLabels("local", host), hostID: "", want: otherJoin},
		{name: "an unmarked join, and the host's id is unknown", labels: joinLabels("local", ""), hostID: "", want: unmarkedJoin},
		{name: "no labels", labels: nil, hostID: host, want: notJoined},
		{
			name:   "the join's marks without created-by",
			labels: map[string]string{joinedClusterLabel: "local", joinedByHostLabel: host},
			hostID: host, want: notJoined,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ownerOf(tc.labels, "local", tc.hostID)); diff != "" {
				t.Errorf("ownerOf() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJoinLabels(t *testing.T) {
	cases := []struct {
		name   string
		hostID string
		want   map[string]string
	}{
		{
			name: "with the host's id", hostID: "6d1c7f2e-host",
			want: map[string]string{joinedClusterLabel: "local", createdByLabel: createdByJoin, joinedByHostLabel: "6d1c7f2e-host"},
		},
		{
			name: "a dry run before the host's namespace exists", hostID: "",
			want: map[string]string{joinedClusterLabel: "local", createdByLabel: createdByJoin},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, joinLabels("local", tc.hostID)); diff != "" {
				t.Errorf("joinLabels() (-want +got):\n%s", diff)
			}
		})
	}
}
