package federate

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/events"
)

func TestRecordWritesNamesAtMostTenClusters(t *testing.T) {
	recorder := events.NewFakeRecorder(10)
	r := &SyncReconciler{Recorder: recorder, Type: configMapType(false)}
	fed := &unstructured.Unstructured{}
	fed.SetNamespace("default")
	fed.SetName("settings")
	var results []clusterResult
	for i := 25; i > 0; i-- {
		results = append(results, clusterResult{name: fmt.Sprintf("c%02d", i), written: true, decision: ClusterDecision{Action: ActionCreate}})
	}
	results = append(results, clusterResult{name: "u1", written: true, decision: ClusterDecision{Action: ActionUpdate}})
	r.recordWrites(&scope{fed: fed}, results)
	want := []string{
		"Normal CreateInCluster Created ConfigMap default/settings in clusters c01, c02, c03, c04, c05, c06, c07, c08, c09, c10 and 15 more",
		"Normal UpdateInCluster Updated ConfigMap default/settings in cluster u1",
	}
	for _, w := range want {
		select {
		case got := <-recorder.Events:
			if got != w {
				t.Errorf("event %q, want %q", got, w)
			}
		default:
			t.Fatalf("no event, want %q", w)
		}
	}
}
