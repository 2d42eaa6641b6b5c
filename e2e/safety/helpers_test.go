package safety_test

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

const ns = corev1beta1.DefaultNamespace

var (
	configMapGVK          = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	namespaceGVK          = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	deploymentGVK         = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	federatedConfigMapGVK = typesv1beta1.GroupVersion.WithKind("FederatedConfigMap")
)

// fedStatus reads the status of a FederatedConfigMap of the suite's namespace.
func fedStatus(ctx context.Context, c client.Client, name string) (typesv1beta1.FederatedStatus, error) {
	return framework.FederatedStatus(ctx, c, federatedConfigMapGVK, "safety", name)
}

// propagation and clusterStatuses tell a federated object's status in short.
var (
	propagation     = framework.Propagation
	clusterStatuses = framework.ClusterStatuses
)

// readyCondition returns the reason and message of a KubeFedCluster's Ready condition.
func readyCondition(kfc *corev1beta1.KubeFedCluster) (status, reason, message string) {
	for _, c := range kfc.Status.Conditions {
		if c.Type == corev1beta1.ClusterReady {
			r, m := "", ""
			if c.Reason != nil {
				r = *c.Reason
			}
			if c.Message != nil {
				m = *c.Message
			}
			return string(c.Status), r, m
		}
	}
	return "", "", ""
}

// hungServer is a TLS server that answers /readyz and /healthz with ok and holds every other
// request until the test ends, as a member whose API server is wedged behind a healthy
// front does.
func hungServer(t *testing.T) (url string, ca []byte) {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz", "/healthz", "/livez":
			_, _ = w.Write([]byte("ok"))
		default:
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv.URL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// ensureRegistered registers the lab members that are not registered yet, and removes those
// registrations when the test ends, so that suites may run in any order.
func ensureRegistered(t *testing.T, host client.Client, names ...string) {
	t.Helper()
	for _, name := range names {
		kfc := &corev1beta1.KubeFedCluster{}
		err := host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, kfc)
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		m := lab.Cluster(name)
		if err := m.Register(t.Context(), host, framework.Registration{CABundle: m.CACert()}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = framework.Unregister(context.Background(), host, name) })
	}
}

// managedWithPrefix counts the managed ConfigMaps of the suite's namespace in a member whose
// names start with prefix.
func managedWithPrefix(t *testing.T, member client.Client, prefix string) func() (int, error) {
	return func() (int, error) {
		list := &corev1.ConfigMapList{}
		if err := member.List(t.Context(), list, client.InNamespace("safety"), client.MatchingLabels{contract.ManagedLabel: "true"}); err != nil {
			return 0, err
		}
		n := 0
		for _, cm := range list.Items {
			if strings.HasPrefix(cm.Name, prefix) {
				n++
			}
		}
		return n, nil
	}
}
