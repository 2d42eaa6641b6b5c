package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

// TestJoinedMemberAcceptsFederatedRBAC joins a member with the least role while ClusterRoles
// and ClusterRoleBindings are federated, and propagates what KubeFed's own examples federate:
// a ClusterRole with every verb on every resource, and a binding to cluster-admin. Kubernetes
// refuses both to an identity that holds less than they grant, unless it may escalate and bind.
func TestJoinedMemberAcceptsFederatedRBAC(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	host := framework.InstallHost(t, lab.Host())
	kubeconfig := lab.KubeconfigPath()
	hostArgs := []string{"--kubeconfig", kubeconfig, "--context", "host"}
	_, err := fedctl(t, append([]string{"enable", "clusterrolebindings"}, hostArgs...)...)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() {
		_, err := fedctlIn(context.Background(), append([]string{"disable", "clusterrolebindings.rbac.authorization.k8s.io", "--delete-crd", "--force", "--wait=false"}, hostArgs...)...)
		if err != nil {
			t.Errorf("failed to disable clusterrolebindings: %v", err)
		}
	})
	joinArgs := []string{"--kubeconfig", kubeconfig, "--cluster-context", "cce", "--host-cluster-context", "host"}
	out, err := fedctl(t, append([]string{"join", "cce"}, joinArgs...)...)
	g.Expect(err).NotTo(HaveOccurred())
	t.Log(out)
	t.Cleanup(func() {
		if _, err := fedctlIn(context.Background(), append([]string{"unjoin", "cce"}, joinArgs...)...); err != nil {
			t.Errorf("failed to unjoin cce: %v", err)
		}
	})

	dir := t.TempDir()
	binary, err := framework.BuildController(dir)
	g.Expect(err).NotTo(HaveOccurred())
	framework.StartController(t, binary, lab.Host(), "fedctl-rbac")

	placement := map[string]any{"clusters": []any{map[string]any{"name": "cce"}}}
	role := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedClusterRole",
		"metadata": map[string]any{"name": "fedctl-rbac-everything"},
		"spec": map[string]any{
			"placement": placement,
			"template": map[string]any{"rules": []any{
				map[string]any{"apiGroups": []any{"*"}, "resources": []any{"*"}, "verbs": []any{"*"}},
			}},
		},
	}}
	binding := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedClusterRoleBinding",
		"metadata": map[string]any{"name": "fedctl-rbac-admin"},
		"spec": map[string]any{
			"placement": placement,
			"template": map[string]any{
				"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
				"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "fedctl-rbac-user"}},
			},
		},
	}}
	for _, obj := range []*unstructured.Unstructured{role, binding} {
		framework.ApplyObject(t, host, obj)
		t.Cleanup(func() {
			if err := host.Delete(context.Background(), obj); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("failed to delete %s %s: %v", obj.GetKind(), obj.GetName(), err)
			}
		})
	}

	cce, err := lab.Cluster("cce").Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	// statusOf says why the federated object is not in cce yet, for the failure message.
	statusOf := func(kind, name string) string {
		st, err := framework.FederatedStatus(t.Context(), host, typesv1beta1.GroupVersion.WithKind(kind), "", name)
		if err != nil {
			return err.Error()
		}
		msgs := []string{framework.Propagation(st)}
		hostCS, err := lab.Host().Clientset()
		if err != nil {
			return err.Error()
		}
		events, err := hostCS.CoreV1().Events("").List(t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
		if err != nil {
			return err.Error()
		}
		for _, e := range events.Items {
			msgs = append(msgs, e.Reason+": "+e.Message)
		}
		return strings.Join(append(msgs, framework.ClusterStatuses(st)...), "; ")
	}
	g.Eventually(func() error {
		_, err := cce.RbacV1().ClusterRoles().Get(t.Context(), "fedctl-rbac-everything", metav1.GetOptions{})
		return err
	}).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(),
		func() string { return "FederatedClusterRole: " + statusOf("FederatedClusterRole", "fedctl-rbac-everything") })
	g.Eventually(func() error {
		_, err := cce.RbacV1().ClusterRoleBindings().Get(t.Context(), "fedctl-rbac-admin", metav1.GetOptions{})
		return err
	}).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(),
		func() string {
			return "FederatedClusterRoleBinding: " + statusOf("FederatedClusterRoleBinding", "fedctl-rbac-admin")
		})

	// The propagated objects are the ones the control plane wrote; nothing else changed them.
	got, err := cce.RbacV1().ClusterRoles().Get(t.Context(), "fedctl-rbac-everything", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Rules).To(HaveLen(1))
	g.Expect(got.Rules[0].Verbs).To(Equal([]string{"*"}))
}

// fedctlIn runs fedctl with ctx: cleanups run after the test's context is done.
func fedctlIn(ctx context.Context, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := newRootCommand(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}
