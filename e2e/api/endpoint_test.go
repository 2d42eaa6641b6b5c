package api_test

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// kubeFedCluster returns a KubeFedCluster manifest with the given endpoint.
func kubeFedCluster(name, endpoint string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": corev1beta1.GroupVersion.String(), "kind": "KubeFedCluster",
		"metadata": map[string]any{"name": name, "namespace": corev1beta1.DefaultNamespace},
		"spec":     map[string]any{"apiEndpoint": endpoint, "secretRef": map[string]any{"name": name + "-token"}},
	}}
}

// TestPlainHTTPEndpointIsRefusedNamingTheField checks that a KubeFedCluster whose endpoint
// would carry the member's bearer token unencrypted (http, or any scheme but https) is refused
// with an error that names spec.apiEndpoint, by a create and by a server-side apply, while an
// https URL and a host[:port] (which means https) are still accepted.
func TestPlainHTTPEndpointIsRefusedNamingTheField(t *testing.T) {
	cs, applier := host(t)
	ensureNamespace(t, cs, corev1beta1.DefaultNamespace)
	refused := map[string]string{
		"plain-http":           "http://127.0.0.1:6443",
		"plain-http-uppercase": "HTTP://member.example:6443",
		"plain-http-no-port":   "http://member.example",
		"ftp":                  "ftp://member.example:6443",
		"unix":                 "unix:///var/run/kube-apiserver.sock",
	}
	for name, endpoint := range refused {
		t.Run("refused "+endpoint, func(t *testing.T) {
			obj := kubeFedCluster(name, endpoint)
			_, err := applier.Create(t.Context(), obj.DeepCopy())
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.apiEndpoint") || !strings.Contains(err.Error(), "https") {
				t.Errorf("create: got error %v, want Invalid naming spec.apiEndpoint and asking for https", err)
			}
			_, err = applier.Apply(t.Context(), obj.DeepCopy(), "endpoint-test")
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.apiEndpoint") {
				t.Errorf("server-side apply: got error %v, want Invalid naming spec.apiEndpoint", err)
			}
			r, err := applier.Resource(obj)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Get(t.Context(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("KubeFedCluster %s exists after being refused (get: %v)", name, err)
			}
		})
	}

	accepted := map[string]string{
		"https-url":       "https://127.0.0.1:6443",
		"https-uppercase": "HTTPS://member.example",
		"host-port":       "member.example:6443",
		"ip":              "10.0.0.1",
	}
	for name, endpoint := range accepted {
		t.Run("accepted "+endpoint, func(t *testing.T) {
			obj := kubeFedCluster(name, endpoint)
			if _, err := applier.Create(t.Context(), obj.DeepCopy()); err != nil {
				t.Fatalf("create: got error %v, want it accepted", err)
			}
			r, err := applier.Resource(obj)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Delete(context.Background(), name, metav1.DeleteOptions{}) })
		})
	}
}
