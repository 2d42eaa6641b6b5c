package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/manifests"
)

// TestGetShowsTheFleet registers local and cce as get-local and get-cce, marks them Ready as
// fed-controller would, and sets up a FederatedDeployment placed on both whose copy exists in
// local only, with a status that says cce's creation failed. fedctl get shows, per member, the
// placement, the propagation status and the member's copy; with cce's API server stopped it
// still answers within 5 s, cce Unreachable.
func TestGetShowsTheFleet(t *testing.T) {
	c := hostAPI(t)
	g := NewWithT(t)
	const fleet = "fleet"
	registerReady(t, c, "get-local", lab.Cluster("local"), map[string]string{"region": "a"})
	registerReady(t, c, "get-cce", lab.Cluster("cce"), map[string]string{"region": "b"})
	a, err := framework.NewApplier(lab.Host().RESTConfig())
	g.Expect(err).NotTo(HaveOccurred())
	objs, err := manifests.Decode([]byte(`
apiVersion: v1
kind: Namespace
metadata: {name: fleet}
---
apiVersion: types.kubefed.io/v1beta1
kind: FederatedNamespace
metadata: {name: fleet, namespace: fleet}
spec: {placement: {clusterSelector: {}}}
---
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata: {name: web, namespace: fleet}
spec:
  template:
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx}]}}
  placement: {clusterSelector: {matchLabels: {region: a}}}
  overrides: [{clusterName: get-cce, clusterOverrides: [{path: /spec/replicas, value: 1}]}]
`))
	g.Expect(err).NotTo(HaveOccurred())
	for _, o := range objs {
		_, err := a.Create(t.Context(), o)
		g.Expect(err).NotTo(HaveOccurred(), refOf(o))
	}
	dyn, err := dynamic.NewForConfig(lab.Host().RESTConfig())
	g.Expect(err).NotTo(HaveOccurred())
	// No fed-controller runs here: nothing holds the objects back when they go.
	t.Cleanup(func() {
		ctx := context.Background()
		for _, plural := range []string{"federateddeployments", "federatednamespaces"} {
			_ = dyn.Resource(typesv1beta1.GroupVersion.WithResource(plural)).Namespace(fleet).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		}
		_ = c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fleet}})
	})
	fds := dyn.Resource(typesv1beta1.GroupVersion.WithResource("federateddeployments")).Namespace(fleet)
	fd, err := fds.Get(t.Context(), "web", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	fd.Object["status"] = map[string]any{"clusters": []any{map[string]any{"name": "get-cce", "status": "WaitingForRemoval"}, map[string]any{"name": "get-local"}}}
	_, err = fds.UpdateStatus(t.Context(), fd, metav1.UpdateOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	local, err := lab.Cluster("local").Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	_, err = local.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fleet}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = local.CoreV1().Namespaces().Delete(context.Background(), fleet, metav1.DeleteOptions{}) })
	_, err = local.AppsV1().Deployments(fleet).Create(t.Context(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}},
		},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	t.Run("a row per member: placement, propagation status and the member's copy", func(t *testing.T) {
		g := NewWithT(t)
		out, _, err := onHost(t, "get", "deployments", "-n", fleet)
		g.Expect(err).NotTo(HaveOccurred())
		t.Logf("fedctl get deployments -n fleet:\n%s", out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		g.Expect(lines).To(HaveLen(3))
		g.Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "CLUSTER", "PLACEMENT", "PROPAGATION", "MEMBER", "READY"}))
		g.Expect(strings.Fields(lines[1])).To(Equal([]string{"web", "get-cce", "NotSelected", "WaitingForRemoval", "Absent", "-"}))
		g.Expect(strings.Fields(lines[2])).To(HaveExactElements("web", "get-local", "Selected", "OK", "Present", MatchRegexp(`^[0-2]/2$`)))
	})

	t.Run("the federated type names the same; wide tells why a cluster is not selected; --clusters filters", func(t *testing.T) {
		g := NewWithT(t)
		out, _, err := onHost(t, "get", "federateddeployments.types.kubefed.io", "web", "-n", fleet, "-o", "wide", "--clusters", "get-cce", "--no-headers")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(strings.Fields(out)).To(Equal([]string{"web", "get-cce", "NotSelected", "WaitingForRemoval", "Absent", "-", "NotMatchingSelector", "-"}))
	})

	t.Run("-o json gives the rows", func(t *testing.T) {
		g := NewWithT(t)
		out, _, err := onHost(t, "get", "deployments", "-A", "-o", "json", "--clusters", "get-local")
		g.Expect(err).NotTo(HaveOccurred())
		var got struct{ Items []getRow }
		g.Expect(json.Unmarshal([]byte(out), &got)).To(Succeed())
		g.Expect(got.Items).To(ContainElement(And(
			HaveField("Namespace", fleet), HaveField("Name", "web"), HaveField("Cluster", "get-local"),
			HaveField("Placement", "Selected"), HaveField("Propagation", "OK"), HaveField("Member", "Present"),
			HaveField("Replicas", HaveValue(BeEquivalentTo(2))))))
	})

	t.Run("a name that is not there is an error naming it", func(t *testing.T) {
		_, _, err := onHost(t, "get", "deployments", "nope", "-n", fleet)
		NewWithT(t).Expect(err).To(MatchError("FederatedDeployment fleet/nope not found in the host"))
	})

	t.Run("describe: per member the placement and why, the overrides, the copy and its drift; the events", func(t *testing.T) {
		g := NewWithT(t)
		_, err := local.AppsV1().Deployments(fleet).Patch(t.Context(), "web", k8stypes.MergePatchType, []byte(`{"spec":{"replicas":3}}`), metav1.PatchOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		hostCS, err := lab.Host().Clientset()
		g.Expect(err).NotTo(HaveOccurred())
		_, err = hostCS.CoreV1().Events(fleet).Create(t.Context(), &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "web.fleet-test", Namespace: fleet},
			InvolvedObject: corev1.ObjectReference{Kind: "FederatedDeployment", Namespace: fleet, Name: "web", APIVersion: "types.kubefed.io/v1beta1"},
			Reason:         "CreateInClusterFailed", Message: "Failed to create Deployment fleet/web in cluster get-cce: denied", Type: corev1.EventTypeWarning,
			LastTimestamp: metav1.Now(), Count: 1, Source: corev1.EventSource{Component: "fed-controller"},
		}, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		out, _, err := onHost(t, "describe", "deployments", "web", "-n", fleet)
		g.Expect(err).NotTo(HaveOccurred())
		t.Logf("fedctl describe deployments web -n fleet:\n%s", out)
		g.Expect(out).To(ContainSubstring("Kind:         FederatedDeployment (propagates deployments.apps)\n"))
		g.Expect(out).To(ContainSubstring(`Placement:    {"clusterSelector":{"matchLabels":{"region":"a"}}}` + "\n"))
		g.Expect(out).To(ContainSubstring("  get-cce:\n    Placement:    NotSelected NotMatchingSelector\n    Overrides:    replace /spec/replicas 1\n" +
			"    Propagation:  WaitingForRemoval\n    Member:       Absent\n"))
		g.Expect(out).To(MatchRegexp(`  get-local:\n    Placement:    Selected\n    Overrides:    none\n    Propagation:  OK\n` +
			`    Member:       Present, resourceVersion \d+, generation \d+, created \S+\n    Drift:        .*/spec/replicas \(member 3, fedplane renders 2\)`))
		g.Expect(out).To(ContainSubstring("/metadata/labels (member"), "the copy lacks the managed label")
		g.Expect(out).To(MatchRegexp(`Events \(host\):\n  \S+ ago  Warning  CreateInClusterFailed  Failed to create Deployment fleet/web in cluster get-cce: denied\n`))
		g.Expect(out).To(ContainSubstring("Events (get-local):\n"))
	})

	t.Run("with cce's API server stopped, the table comes within 5 s and cce is Unreachable", func(t *testing.T) {
		g := NewWithT(t)
		cce := lab.Cluster("cce")
		g.Expect(cce.StopAPIServer()).To(Succeed())
		continued := false
		t.Cleanup(func() {
			if !continued {
				_ = cce.ContinueAPIServer()
			}
		})
		started := time.Now()
		out, _, err := onHost(t, "get", "deployments", "-A", "-o", "wide")
		took := time.Since(started)
		continued = true
		g.Expect(cce.ContinueAPIServer()).To(Succeed())
		g.Expect(err).NotTo(HaveOccurred())
		t.Logf("fedctl get deployments -A -o wide with cce stopped, in %v:\n%s", took.Round(time.Millisecond), out)
		g.Expect(took).To(BeNumerically("<", 5*time.Second))
		g.Expect(out).To(MatchRegexp(`(?m)^fleet +web +get-cce +NotSelected +WaitingForRemoval +Unreachable\b`))
		g.Expect(out).To(MatchRegexp(`(?m)^fleet +web +get-local +Selected +OK +Present\b`))
	})
}

// registerReady registers member as name, with labels, and gives the registration the Ready
// status that fed-controller's health probes would; the registration goes when the test ends.
func registerReady(t *testing.T, c client.Client, name string, member *framework.Cluster, labels map[string]string) {
	t.Helper()
	g := NewWithT(t)
	g.Expect(member.Register(t.Context(), c, framework.Registration{Name: name, CABundle: member.CACert(), Labels: labels})).To(Succeed())
	t.Cleanup(func() {
		ctx := context.Background()
		if err := c.Delete(ctx, &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}); err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
		if err := c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-token", Namespace: ns}}); err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	})
	kfc := &corev1beta1.KubeFedCluster{}
	g.Expect(c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, kfc)).To(Succeed())
	now := metav1.Now()
	kfc.Status.Conditions = []corev1beta1.ClusterCondition{{Type: corev1beta1.ClusterReady, Status: corev1.ConditionTrue, LastProbeTime: now, LastTransitionTime: &now}}
	g.Expect(c.Status().Update(t.Context(), kfc)).To(Succeed())
}
