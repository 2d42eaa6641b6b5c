package cluster_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

// controlPlane installs the API into the lab host and makes namespace a control plane's
// namespace of its own, whose members are probed every period with the given timeout, so that
// a fed-controller run for it sees no other test's registrations.
func controlPlane(t *testing.T, namespace string, period, timeout time.Duration) client.Client {
	t.Helper()
	framework.Require(t, lab)
	c, err := lab.Host().InstallAPI(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	cfg := kubefedconfig.Default(namespace)
	cfg.Spec.ClusterHealthCheck.Period = &metav1.Duration{Duration: period}
	cfg.Spec.ClusterHealthCheck.Timeout = &metav1.Duration{Duration: timeout}
	if err := c.Create(t.Context(), cfg); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return c
}

// startFedController builds fed-controller and runs it for the control plane of namespace
// until the test ends.
func startFedController(t *testing.T, namespace string) *framework.Controller {
	t.Helper()
	binary, err := framework.BuildController(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return framework.StartController(t, binary, lab.Host(), "cp-"+namespace, "--kubefed-namespace", namespace)
}

// tokenSecret creates the credentials Secret of a registration.
func tokenSecret(t *testing.T, c client.Client, namespace, name, token string) {
	t.Helper()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-token", Namespace: namespace},
		Data:       map[string][]byte{cluster.TokenKey: []byte(token)},
	}
	if err := c.Create(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
}

// endpointRegistration is the KubeFedCluster of name in namespace for endpoint, trusting ca,
// with the credentials Secret tokenSecret creates.
func endpointRegistration(namespace, name, endpoint string, ca []byte) *corev1beta1.KubeFedCluster {
	return &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1beta1.KubeFedClusterSpec{
			APIEndpoint: endpoint, CABundle: ca,
			SecretRef: corev1beta1.LocalSecretReference{Name: name + "-token"},
		},
	}
}

// conditionsOf reads the conditions of a KubeFedCluster.
func conditionsOf(t *testing.T, c client.Client, namespace, name string) []corev1beta1.ClusterCondition {
	t.Helper()
	kfc := &corev1beta1.KubeFedCluster{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, kfc); err != nil {
		t.Fatal(err)
	}
	return kfc.Status.Conditions
}
