package rbac_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

var (
	lab              *framework.Lab
	controllerBinary string
)

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithLabAndController(m, framework.Options{Members: []string{"local"}}, &lab, &controllerBinary))
}

// chartUser is the user name of the chart's ServiceAccount.
var chartUser = fmt.Sprintf("system:serviceaccount:%s:%s", corev1beta1.DefaultNamespace, framework.ChartServiceAccount)

// access is one request of the chart's identity, and whether RBAC allows it.
type access struct {
	name  string
	attrs authorizationv1.ResourceAttributes
	allow bool
}

// accesses are what the identity must and must not do. The allowed ones keep the table honest:
// a role that granted nothing would fail them.
var accesses = []access{
	{"list Secrets of the control plane", res("", "secrets", "list", corev1beta1.DefaultNamespace), true},
	{"patch federated objects anywhere", res("types.kubefed.io", "federateddeployments", "patch", ""), true},
	{"patch a federated object's status", sub("types.kubefed.io", "federatedconfigmaps", "status", "patch", "default"), true},
	{"create PropagatedVersions", res("core.kubefed.io", "propagatedversions", "create", "default"), true},
	{"patch RSP status", sub("scheduling.kubefed.io", "replicaschedulingpreferences", "status", "patch", "default"), true},
	{"create events.k8s.io Events", res("events.k8s.io", "events", "create", "default"), true},
	{"get a namespace", res("", "namespaces", "get", ""), true},
	{"update its own Lease", named(res("coordination.k8s.io", "leases", "update", corev1beta1.DefaultNamespace), "fed-controller.core.kubefed.io"), true},
	{"get Secrets in another namespace", res("", "secrets", "get", "default"), false},
	{"list Secrets in another namespace", res("", "secrets", "list", "default"), false},
	{"list Secrets cluster-wide", res("", "secrets", "list", ""), false},
	{"write Secrets of the control plane", res("", "secrets", "update", corev1beta1.DefaultNamespace), false},
	{"create Deployments", res("apps", "deployments", "create", "default"), false},
	{"delete Deployments", res("apps", "deployments", "delete", "default"), false},
	{"create ConfigMaps", res("", "configmaps", "create", "default"), false},
	{"delete ConfigMaps", res("", "configmaps", "delete", "default"), false},
	{"create Pods", res("", "pods", "create", "default"), false},
	{"create ClusterRoles", res("rbac.authorization.k8s.io", "clusterroles", "create", ""), false},
	{"bind ClusterRoles", res("rbac.authorization.k8s.io", "clusterrolebindings", "create", ""), false},
	{"write RoleBindings of the control plane", res("rbac.authorization.k8s.io", "rolebindings", "update", corev1beta1.DefaultNamespace), false},
	{"delete CRDs", res("apiextensions.k8s.io", "customresourcedefinitions", "delete", ""), false},
	{"create CRDs", res("apiextensions.k8s.io", "customresourcedefinitions", "create", ""), false},
	{"delete federated objects", res("types.kubefed.io", "federateddeployments", "delete", "default"), false},
	{"create federated objects", res("types.kubefed.io", "federatedconfigmaps", "create", "default"), false},
	{"delete KubeFedClusters", res("core.kubefed.io", "kubefedclusters", "delete", corev1beta1.DefaultNamespace), false},
	{"update a KubeFedCluster's spec", res("core.kubefed.io", "kubefedclusters", "update", corev1beta1.DefaultNamespace), false},
	{"list KubeFedClusters elsewhere", res("core.kubefed.io", "kubefedclusters", "list", "default"), false},
	{"update another Lease", named(res("coordination.k8s.io", "leases", "update", corev1beta1.DefaultNamespace), "kube-scheduler"), false},
	{"delete namespaces", res("", "namespaces", "delete", ""), false},
	{"impersonate", res("", "users", "impersonate", ""), false},
	{"create ServiceAccount tokens", sub("", "serviceaccounts", "token", "create", corev1beta1.DefaultNamespace), false},
}

func res(group, resource, verb, namespace string) authorizationv1.ResourceAttributes {
	return authorizationv1.ResourceAttributes{Group: group, Resource: resource, Verb: verb, Namespace: namespace}
}

func sub(group, resource, subresource, verb, namespace string) authorizationv1.ResourceAttributes {
	a := res(group, resource, verb, namespace)
	a.Subresource = subresource
	return a
}

func named(a authorizationv1.ResourceAttributes, name string) authorizationv1.ResourceAttributes {
	a.Name = name
	return a
}

// TestChartIdentityAccess asks the host, with a SubjectAccessReview per row, what RBAC lets
// the chart's ServiceAccount do, and compares with the table.
func TestChartIdentityAccess(t *testing.T) {
	framework.Require(t, lab)
	host := lab.Host()
	if _, err := framework.ChartIdentity(t.Context(), host); err != nil {
		t.Fatal(err)
	}
	cs, err := host.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	want, got := map[string]bool{}, map[string]bool{}
	for _, a := range accesses {
		attrs := a.attrs
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: chartUser, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + corev1beta1.DefaultNamespace, "system:authenticated"},
			ResourceAttributes: &attrs,
		}}
		r, err := cs.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		want[a.name], got[a.name] = a.allow, r.Status.Allowed
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("allowed (-want +got):\n%s", diff)
	}
}

// TestChartTokenIsRefused sends requests with the chart identity's own token: the API server
// answers 403 to what it may not do.
func TestChartTokenIsRefused(t *testing.T) {
	framework.Require(t, lab)
	host := lab.Host()
	token, err := framework.ChartIdentity(t.Context(), host)
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(host.RESTConfig())
	cfg.BearerToken = token
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"list Secrets in default", func(ctx context.Context) error {
			_, err := cs.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"get a Secret in kube-system", func(ctx context.Context) error {
			_, err := cs.CoreV1().Secrets("kube-system").Get(ctx, "any", metav1.GetOptions{})
			return err
		}},
		{"list Deployments in default", func(ctx context.Context) error {
			_, err := cs.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"delete ConfigMaps in default", func(ctx context.Context) error {
			return cs.CoreV1().ConfigMaps("default").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		}},
		{"list ClusterRoles", func(ctx context.Context) error {
			_, err := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
			return err
		}},
	}
	for _, c := range calls {
		if err := c.call(ctx); !apierrors.IsForbidden(err) {
			t.Errorf("%s: got %v, want 403 Forbidden", c.name, err)
		}
	}
	// And the list it needs succeeds with the same token, so the 403s are RBAC's answer.
	if _, err := cs.CoreV1().Secrets(corev1beta1.DefaultNamespace).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list Secrets of the control plane: %v", err)
	}
}

// TestPropagationUnderChartIdentity runs fed-controller, with leader election, under the
// chart's identity: a member becomes Ready, a FederatedConfigMap reaches it, its deletion
// removes the copy, and the log holds no denial.
func TestPropagationUnderChartIdentity(t *testing.T) {
	framework.Require(t, lab)
	t.Setenv(framework.EnvControllerIdentity, "chart")
	started := time.Now()
	fed := framework.StartFederationWithFlags(t, lab, controllerBinary, "rbac-test", []string{"local"}, []string{"--leader-elect", "--metrics-secure"})
	t.Logf("member Ready under the chart's identity after %s", time.Since(started).Round(time.Millisecond))
	framework.FederateNamespace(t, fed.Host, "rbac-ns", "local")
	cm := framework.FederatedConfigMap("rbac-ns", "rbac-cm", map[string]any{"k": "v"}, "local")
	framework.ApplyObject(t, fed.Host, cm)
	member := fed.Members["local"]
	waitFor(t, "the ConfigMap in local", func(ctx context.Context) (bool, error) {
		obj, err := framework.GetObject(ctx, member, configMapGVK, "rbac-ns", "rbac-cm")
		return obj != nil, err
	})
	t.Logf("propagated after %s", time.Since(started).Round(time.Millisecond))
	// Secure metrics check each scrape's token with a TokenReview and a SubjectAccessReview
	// made under the chart's identity: a scrape with the admin token answers only if the
	// chart grants those.
	// The member may have been Ready from an earlier test before this fed-controller listened.
	var ready float64
	var scrapeErr error
	waitFor(t, "a scrape of /metrics under the chart's identity", func(context.Context) (bool, error) {
		ready, scrapeErr = fed.Controller.ReadMetric("fedplane_cluster_ready", map[string]string{"cluster": "local"})
		return scrapeErr == nil, nil
	})
	if ready != 1 {
		t.Errorf("scraping /metrics of fed-controller under the chart's identity: fedplane_cluster_ready{cluster=local} = %v, %v; want 1, no error", ready, scrapeErr)
	}
	if err := fed.Host.Delete(t.Context(), cm); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the ConfigMap gone from local", func(ctx context.Context) (bool, error) {
		obj, err := framework.GetObject(ctx, member, configMapGVK, "rbac-ns", "rbac-cm")
		return obj == nil, err
	})
	if denials := forbidden(t, fed.Controller.LogPath()); len(denials) > 0 {
		t.Errorf("fed-controller was denied under the chart's identity:\n%s", strings.Join(denials, "\n"))
	}
}
