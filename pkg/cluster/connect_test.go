package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

func TestACacheThatCannotConnectIsAnEvent(t *testing.T) {
	recorder := events.NewFakeRecorder(10)
	r := &HealthReconciler{Cache: &Cache{}, Recorder: recorder, Now: time.Now, base: context.Background()}
	reg := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: corev1beta1.DefaultNamespace, Name: "cce"}}
	// A CA that is no certificate: no client can be made for the member.
	cfg := &rest.Config{Host: "https://127.0.0.1:1", TLSClientConfig: rest.TLSClientConfig{CAData: []byte("not a certificate")}}
	if r.connect(context.Background(), reg, cfg) {
		t.Fatal("connect() = true with a CA that is no certificate, want false")
	}
	select {
	case ev := <-recorder.Events:
		if !strings.HasPrefix(ev, "Warning CacheConnectFailed Failed to connect the member's cache") {
			t.Errorf("event %q, want a CacheConnectFailed warning", ev)
		}
	default:
		t.Error("no event, want a CacheConnectFailed warning")
	}
}
