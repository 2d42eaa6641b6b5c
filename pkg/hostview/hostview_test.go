package hostview

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/placement"
)

func kubeFedCluster(name string, labels map[string]string, conditions ...corev1beta1.ClusterCondition) corev1beta1.KubeFedCluster {
	return corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status:     corev1beta1.KubeFedClusterStatus{Conditions: conditions},
	}
}

func TestPlacementClusters(t *testing.T) {
	ready := corev1beta1.ClusterCondition{Type: corev1beta1.ClusterReady, Status: "True"}
	notReady := corev1beta1.ClusterCondition{Type: corev1beta1.ClusterReady, Status: "False"}
	cases := []struct {
		name       string
		registered []corev1beta1.KubeFedCluster
		want       []placement.Cluster
	}{
		{name: "no cluster", want: []placement.Cluster{}},
		{
			name: "name, labels and readiness are kept, in the order listed",
			registered: []corev1beta1.KubeFedCluster{
				kubeFedCluster("b", map[string]string{"region": "eu"}, ready),
				kubeFedCluster("a", nil, notReady),
			},
			want: []placement.Cluster{{Name: "b", Labels: map[string]string{"region": "eu"}, Ready: true}, {Name: "a"}},
		},
		{
			name:       "a cluster without status is not Ready",
			registered: []corev1beta1.KubeFedCluster{kubeFedCluster("new", nil)},
			want:       []placement.Cluster{{Name: "new"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, PlacementClusters(tc.registered)); diff != "" {
				t.Errorf("PlacementClusters() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromUnstructured(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want typesv1beta1.Placement
	}{
		{name: "nothing decodes to the zero value", want: typesv1beta1.Placement{}},
		{
			name: "an empty clusters list stays empty, not missing",
			in:   map[string]any{"clusters": []any{}},
			want: typesv1beta1.Placement{Clusters: []typesv1beta1.ClusterReference{}},
		},
		{
			name: "a missing clusters list stays missing",
			in:   map[string]any{"clusterSelector": map[string]any{}},
			want: typesv1beta1.Placement{ClusterSelector: &metav1.LabelSelector{}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got typesv1beta1.Placement
			if err := FromUnstructured(tc.in, &got); err != nil {
				t.Fatalf("FromUnstructured() error: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("FromUnstructured() (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a value of the wrong shape is an error", func(t *testing.T) {
		var got typesv1beta1.Placement
		if err := FromUnstructured(map[string]any{"clusters": "local"}, &got); err == nil {
			t.Errorf("FromUnstructured() = nil error, want one for clusters given as a string")
		}
	})
}
