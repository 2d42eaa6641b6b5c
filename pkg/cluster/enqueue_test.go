package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

// recordingQueue records what is added to it, and after how long.
type recordingQueue struct {
	workqueue.TypedRateLimitingInterface[reconcile.Request]
	added []string
}

func (q *recordingQueue) Add(req reconcile.Request) { q.added = append(q.added, req.Name+" now") }

func (q *recordingQueue) AddAfter(req reconcile.Request, d time.Duration) {
	q.added = append(q.added, req.Name+" after "+d.String())
}

func TestEnqueueAllOnChange(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := corev1beta1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	registration := func(ready bool, labels map[string]string) *corev1beta1.KubeFedCluster {
		kfc := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: corev1beta1.DefaultNamespace, Name: "cce", Labels: labels}}
		if ready {
			kfc.Status.Conditions = readyAt(t1)
		} else {
			kfc.Status.Conditions = offlineAt(t1, "no answer within 1s")
		}
		return kfc
	}
	delays := func(available, unavailable time.Duration) *corev1beta1.KubeFedConfig {
		cfg := kubefedconfig.Default(corev1beta1.DefaultNamespace)
		cfg.Spec.ControllerDuration.AvailableDelay = &metav1.Duration{Duration: available}
		cfg.Spec.ControllerDuration.UnavailableDelay = &metav1.Duration{Duration: unavailable}
		return cfg
	}
	cases := []struct {
		name     string
		config   *corev1beta1.KubeFedConfig
		old, new *corev1beta1.KubeFedCluster
		want     []string
	}{
		{
			name: "a cluster that becomes Ready is looked at after availableDelay", config: delays(7*time.Second, time.Minute),
			old: registration(false, nil), new: registration(true, nil), want: []string{"a after 7s", "b after 7s"},
		},
		{
			name: "a cluster that stops being Ready is looked at after unavailableDelay", config: delays(7*time.Second, 90*time.Second),
			old: registration(true, nil), new: registration(false, nil), want: []string{"a after 1m30s", "b after 1m30s"},
		},
		{
			name: "without a KubeFedConfig the defaults apply", old: registration(true, nil), new: registration(false, nil),
			want: []string{"a after 1m0s", "b after 1m0s"},
		},
		{
			name: "a delay of zero looks at once", config: delays(0, 0),
			old: registration(false, nil), new: registration(true, nil), want: []string{"a now", "b now"},
		},
		{
			name: "a change of labels is looked at once, even with readiness", config: delays(7*time.Second, time.Minute),
			old: registration(false, nil), new: registration(true, map[string]string{"region": "eu"}), want: []string{"a now", "b now"},
		},
	}
	all := func(context.Context) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: "a"}}, {NamespacedName: types.NamespacedName{Name: "b"}}}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := []client.Object{}
			if tc.config != nil {
				objs = append(objs, tc.config)
			}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
			q := &recordingQueue{}
			EnqueueAllOnChange(c, corev1beta1.DefaultNamespace, all).Update(context.Background(), event.UpdateEvent{ObjectOld: tc.old, ObjectNew: tc.new}, q)
			if diff := cmp.Diff(tc.want, q.added); diff != "" {
				t.Errorf("enqueued (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a registration that comes or goes is looked at once", func(t *testing.T) {
		c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(delays(7*time.Second, time.Minute)).Build()
		q := &recordingQueue{}
		h := EnqueueAllOnChange(c, corev1beta1.DefaultNamespace, all)
		h.Create(context.Background(), event.CreateEvent{Object: registration(true, nil)}, q)
		h.Delete(context.Background(), event.DeleteEvent{Object: registration(true, nil)}, q)
		if diff := cmp.Diff([]string{"a now", "b now", "a now", "b now"}, q.added); diff != "" {
			t.Errorf("enqueued (-want +got):\n%s", diff)
		}
	})
}
