package federate

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/conflict"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

func TestTypeConfigReconcileRetriesAStatusWriteThatConflicts(t *testing.T) {
	ftc := &corev1beta1.FederatedTypeConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: fedNamespace, Name: "configmaps"},
		Spec:       corev1beta1.FederatedTypeConfigSpec{Propagation: corev1beta1.PropagationDisabled},
	}
	h := newHost(t, conflictOn(func(obj client.Object, sub string) bool {
		_, ok := obj.(*corev1beta1.FederatedTypeConfig)
		return ok && sub == "status"
	}), ftc)
	r := &TypeConfigReconciler{Client: h.client, started: make(chan struct{})}
	close(r.started)
	result, err := r.Reconcile(h.context(), reconcile.Request{NamespacedName: types.NamespacedName{Namespace: fedNamespace, Name: "configmaps"}})
	if err != nil {
		t.Fatalf("Reconcile error = %v, want none: a conflict is retried shortly, not reported as an error", err)
	}
	if result.RequeueAfter != conflict.Recheck {
		t.Errorf("RequeueAfter = %v, want %v", result.RequeueAfter, conflict.Recheck)
	}
}

func TestCacheSyncTimeoutPrecedence(t *testing.T) {
	fromConfig := kubefedconfig.SettingsOf(&corev1beta1.KubeFedConfig{Spec: corev1beta1.KubeFedConfigSpec{
		ControllerDuration: &corev1beta1.DurationConfig{CacheSyncTimeout: &metav1.Duration{Duration: 40 * time.Second}},
	}})
	for _, tc := range []struct {
		name     string
		flag     time.Duration
		settings kubefedconfig.Settings
		want     time.Duration
	}{
		{name: "the flag wins", flag: 3 * time.Second, settings: fromConfig, want: 3 * time.Second},
		{name: "no flag: the KubeFedConfig's", settings: fromConfig, want: 40 * time.Second},
		{name: "neither: KubeFed's default", settings: kubefedconfig.SettingsOf(nil), want: kubefedconfig.DefaultCacheSyncTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &TypeConfigReconciler{CacheSyncTimeout: tc.flag}
			if diff := cmp.Diff(tc.want, r.cacheSyncTimeout(tc.settings)); diff != "" {
				t.Errorf("cacheSyncTimeout (-want +got):\n%s", diff)
			}
		})
	}
}
