package federate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
)

func TestLateAnswersAreKeptForTheVersionTheyAnswer(t *testing.T) {
	key := types.NamespacedName{Namespace: "web", Name: "settings"}
	cases := []struct {
		name    string
		stored  map[string]string // cluster: version answered
		version string
		want    []string
	}{
		{name: "answers for the current version are used", stored: map[string]string{"cce": "7", "local": "7"}, version: "7", want: []string{"cce", "local"}},
		{name: "answers for an older version are dropped", stored: map[string]string{"cce": "6", "local": "7"}, version: "7", want: []string{"local"}},
		{name: "nothing stored gives nothing", version: "7", want: []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &SyncReconciler{}
			for cluster, version := range tc.stored {
				r.storeLate(key, version, clusterResult{name: cluster, written: true})
			}
			got := []string{}
			late := r.takeLate(key, tc.version)
			for _, name := range []string{"cce", "local"} {
				if res, ok := late[name]; ok && res.written {
					got = append(got, name)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("late answers used (-want +got):\n%s", diff)
			}
			if left := r.takeLate(key, tc.version); len(left) != 0 {
				t.Errorf("takeLate kept %d answers after returning them", len(left))
			}
		})
	}
}
