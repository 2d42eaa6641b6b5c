package safety_test

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

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
	var st typesv1beta1.FederatedStatus
	obj, err := framework.GetObject(ctx, c, federatedConfigMapGVK, "safety", name)
	if err != nil || obj == nil {
		return st, err
	}
	raw, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "status")
	if raw == nil {
		return st, nil
	}
	b, err := yaml.Marshal(raw)
	if err != nil {
		return st, err
	}
	return st, yaml.Unmarshal(b, &st)
}

// propagation returns the Propagation condition's status and reason ("" when absent).
func propagation(st typesv1beta1.FederatedStatus) string {
	for _, c := range st.Conditions {
		if c != nil && c.Type == typesv1beta1.PropagationConditionType {
			return string(c.Status) + "/" + string(c.Reason)
		}
	}
	return ""
}

// clusterStatuses maps status.clusters to name=status strings, in order.
func clusterStatuses(st typesv1beta1.FederatedStatus) []string {
	out := []string{}
	for _, c := range st.Clusters {
		out = append(out, c.Name+"="+string(c.Status))
	}
	return out
}

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
