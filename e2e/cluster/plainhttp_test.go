package cluster_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// oldEndpointRule is the apiEndpoint rule of the KubeFedCluster CRD before it refused every
// scheme but https: it accepted http.
var oldEndpointRule = map[string]any{
	"rule":    `!self.matches('\\s') && (self.matches('^https?://') ? isURL(self) : isURL('https://' + self))`,
	"message": "must be a URL with scheme http or https (https://host:port), or host[:port]",
}

var crdResource = apiextv1.SchemeGroupVersion.WithResource("customresourcedefinitions")

const kubeFedClusterCRD = "kubefedclusters.core.kubefed.io"

// installOldEndpointRule puts the apiEndpoint rule of an older KubeFedCluster CRD in place of
// the current one, as on a host whose CRDs are not upgraded yet. The returned function puts
// the current CRD back; it also runs when the test ends.
func installOldEndpointRule(t *testing.T, dyn dynamic.Interface) (restore func()) {
	t.Helper()
	crds := dyn.Resource(crdResource)
	current, err := crds.Get(t.Context(), kubeFedClusterCRD, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := unstructured.NestedFieldCopy(current.Object, "spec")
	old := current.DeepCopy()
	versions, _, _ := unstructured.NestedSlice(old.Object, "spec", "versions")
	for _, v := range versions {
		props := []string{"schema", "openAPIV3Schema", "properties", "spec", "properties", "apiEndpoint"}
		if err := unstructured.SetNestedSlice(v.(map[string]any), []any{oldEndpointRule}, append(props, "x-kubernetes-validations")...); err != nil {
			t.Fatal(err)
		}
	}
	if err := unstructured.SetNestedSlice(old.Object, versions, "spec", "versions"); err != nil {
		t.Fatal(err)
	}
	if _, err := crds.Update(t.Context(), old, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("failed to install the old apiEndpoint rule: %v", err)
	}
	restored := false
	restore = func() {
		if restored {
			return
		}
		restored = true
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		latest, err := crds.Get(ctx, kubeFedClusterCRD, metav1.GetOptions{})
		if err == nil {
			latest.Object["spec"] = want
			_, err = crds.Update(ctx, latest, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Errorf("failed to put the current KubeFedCluster CRD back: %v", err)
		}
	}
	t.Cleanup(restore)
	return restore
}

// TestMemberTokenDoesNotGoOverPlainHTTP checks that a registration with an http endpoint that
// is stored anyway (created while a CRD that accepted http was installed, before an upgrade)
// never sends the member's token: fed-controller sends no request at all to the endpoint, a
// plain-HTTP server on 127.0.0.1 that would answer every probe ok, and reports the registration
// ConfigMalformed, saying why.
func TestMemberTokenDoesNotGoOverPlainHTTP(t *testing.T) {
	const namespace = "plain-http"
	c := controlPlane(t, namespace, time.Second, time.Second)
	g := NewWithT(t)
	dyn, err := dynamic.NewForConfig(lab.Host().RESTConfig())
	g.Expect(err).NotTo(HaveOccurred())

	var requests, withToken atomic.Int64
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get("Authorization") != "" {
			withToken.Add(1)
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(junk.Close)
	const token = "plain-http-member-token" //nolint:gosec // A made-up token, which the test looks for in the log.
	tokenSecret(t, c, namespace, "stored", token)

	// The registration is stored while the old CRD is installed, then the current one comes back.
	restore := installOldEndpointRule(t, dyn)
	stored := endpointRegistration(namespace, "stored", junk.URL, nil)
	g.Eventually(func() error { return c.Create(t.Context(), stored.DeepCopy()) }).
		WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(), "the old CRD accepts %s", junk.URL)
	restore()

	ctrl := startFedController(t, namespace)
	g.Eventually(func() []corev1beta1.ClusterCondition { return conditionsOf(t, c, namespace, "stored") }).
		WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).ShouldNot(BeEmpty())
	// A few more probe periods, for any request a later probe or a member cache would send.
	time.Sleep(5 * time.Second)

	if n := requests.Load(); n != 0 {
		t.Errorf("the plain-HTTP endpoint received %d requests, %d of them with an Authorization header; want none", n, withToken.Load())
	}
	conds := conditionsOf(t, c, namespace, "stored")
	malformed := false
	for _, cond := range conds {
		if cond.Type == corev1beta1.ClusterConfigMalformed && cond.Status == corev1.ConditionTrue && cond.Message != nil && strings.Contains(*cond.Message, "https") {
			malformed = true
		}
	}
	t.Logf("the http registration's conditions after %d requests to its endpoint: %s", requests.Load(), describeConditions(conds))
	if !malformed {
		t.Errorf("conditions of the http registration = %s, want ConfigMalformed True with a message that asks for https", describeConditions(conds))
	}
	if log, err := os.ReadFile(ctrl.LogPath()); err != nil {
		t.Error(err)
	} else if strings.Contains(string(log), token) {
		t.Error("fed-controller's log shows the member's token")
	}

	// The current CRD refuses the same registration now, naming the field.
	again := endpointRegistration(namespace, "again", junk.URL, nil)
	g.Eventually(func() error { return c.Create(t.Context(), again) }).WithTimeout(30 * time.Second).
		Should(And(Satisfy(apierrors.IsInvalid), MatchError(ContainSubstring("spec.apiEndpoint"))))
}

// describeConditions prints conditions briefly, for failure messages.
func describeConditions(conds []corev1beta1.ClusterCondition) string {
	var parts []string
	for _, c := range conds {
		msg := ""
		if c.Message != nil {
			msg = *c.Message
		}
		parts = append(parts, string(c.Type)+"="+string(c.Status)+" ("+msg+")")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
