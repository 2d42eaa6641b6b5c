package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
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
	out, err := fedctl(t, append([]string{"enable", "clusterrolebindings"}, hostArgs...)...)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("members refuse the ClusterRoleBinding objects that grant more than their joined role holds: join also grants bind on clusterroles for this type"))
	t.Cleanup(func() {
		err := fedctlIn(context.Background(), append([]string{"disable", "clusterrolebindings.rbac.authorization.k8s.io", "--delete-crd", "--force", "--wait=false"}, hostArgs...)...)
		if err != nil {
			t.Errorf("failed to disable clusterrolebindings: %v", err)
		}
	})
	joinArgs := []string{"--kubeconfig", kubeconfig, "--cluster-context", "cce", "--host-cluster-context", "host"}
	out, err = fedctl(t, append([]string{"join", "cce"}, joinArgs...)...)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("member cce: the role also grants bind on clusterroles and escalate on clusterroles: the enabled RBAC types (clusterrolebindings.rbac.authorization.k8s.io, clusterroles.rbac.authorization.k8s.io)"))
	t.Cleanup(func() {
		if err := fedctlIn(context.Background(), append([]string{"unjoin", "cce"}, joinArgs...)...); err != nil {
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
		func() string {
			return "FederatedClusterRole: " + statusOf("FederatedClusterRole", "fedctl-rbac-everything")
		})
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
func fedctlIn(ctx context.Context, args ...string) error {
	var out, errOut bytes.Buffer
	cmd := newRootCommand(&out, &errOut)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}

// enabledFTC builds an enabled FederatedTypeConfig of the target group and plural.
func enabledFTC(group, plural string) corev1beta1.FederatedTypeConfig {
	return corev1beta1.FederatedTypeConfig{Spec: corev1beta1.FederatedTypeConfigSpec{
		TargetType:  corev1beta1.APIResource{Group: group, Version: "v1", PluralName: plural},
		Propagation: corev1beta1.PropagationEnabled,
	}}
}

func disabled(ftc corev1beta1.FederatedTypeConfig) corev1beta1.FederatedTypeConfig {
	ftc.Spec.Propagation = corev1beta1.PropagationDisabled
	return ftc
}

func TestDelegationRules(t *testing.T) {
	rbac := rbacv1.GroupName
	rule := func(verb string, resources ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{rbac}, Resources: resources, Verbs: []string{verb}}
	}
	cases := []struct {
		name      string
		ftcs      []corev1beta1.FederatedTypeConfig
		wantRules []rbacv1.PolicyRule
		wantTypes []string
		wantLine  string
	}{
		{name: "no RBAC type: nothing more", ftcs: []corev1beta1.FederatedTypeConfig{enabledFTC("", "configmaps"), enabledFTC("apps", "deployments")}},
		{
			name:      "cluster roles need escalate on clusterroles only",
			ftcs:      []corev1beta1.FederatedTypeConfig{enabledFTC("", "configmaps"), enabledFTC(rbac, "clusterroles")},
			wantRules: []rbacv1.PolicyRule{rule("escalate", "clusterroles")},
			wantTypes: []string{"clusterroles.rbac.authorization.k8s.io"},
			wantLine:  "the role also grants escalate on clusterroles: the enabled RBAC types (clusterroles.rbac.authorization.k8s.io) federate roles and bindings that may grant more than the role itself holds",
		},
		{
			name:      "roles need escalate on roles only",
			ftcs:      []corev1beta1.FederatedTypeConfig{enabledFTC(rbac, "roles")},
			wantRules: []rbacv1.PolicyRule{rule("escalate", "roles")},
			wantTypes: []string{"roles.rbac.authorization.k8s.io"},
		},
		{
			name:      "cluster role bindings need bind on clusterroles only",
			ftcs:      []corev1beta1.FederatedTypeConfig{enabledFTC(rbac, "clusterrolebindings")},
			wantRules: []rbacv1.PolicyRule{rule("bind", "clusterroles")},
			wantTypes: []string{"clusterrolebindings.rbac.authorization.k8s.io"},
		},
		{
			name:      "role bindings reference roles and cluster roles",
			ftcs:      []corev1beta1.FederatedTypeConfig{enabledFTC(rbac, "rolebindings")},
			wantRules: []rbacv1.PolicyRule{rule("bind", "clusterroles", "roles")},
			wantTypes: []string{"rolebindings.rbac.authorization.k8s.io"},
		},
		{
			name: "all four: one rule per verb, resources sorted and not repeated",
			ftcs: []corev1beta1.FederatedTypeConfig{
				enabledFTC(rbac, "rolebindings"), enabledFTC(rbac, "clusterroles"),
				enabledFTC(rbac, "clusterrolebindings"), enabledFTC(rbac, "roles"),
			},
			wantRules: []rbacv1.PolicyRule{rule("bind", "clusterroles", "roles"), rule("escalate", "clusterroles", "roles")},
			wantTypes: []string{
				"clusterrolebindings.rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io",
				"rolebindings.rbac.authorization.k8s.io", "roles.rbac.authorization.k8s.io",
			},
			wantLine: "the role also grants bind on clusterroles,roles and escalate on clusterroles,roles: the enabled RBAC types " +
				"(clusterrolebindings.rbac.authorization.k8s.io, clusterroles.rbac.authorization.k8s.io, rolebindings.rbac.authorization.k8s.io, roles.rbac.authorization.k8s.io) " +
				"federate roles and bindings that may grant more than the role itself holds",
		},
		{
			name:      "a disabled RBAC type needs nothing",
			ftcs:      []corev1beta1.FederatedTypeConfig{disabled(enabledFTC(rbac, "clusterroles")), enabledFTC(rbac, "clusterrolebindings")},
			wantRules: []rbacv1.PolicyRule{rule("bind", "clusterroles")},
			wantTypes: []string{"clusterrolebindings.rbac.authorization.k8s.io"},
		},
		{
			name: "a custom type of the same plural in another group is no RBAC type",
			ftcs: []corev1beta1.FederatedTypeConfig{enabledFTC("example.com", "clusterroles")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules, types := delegationRules(tc.ftcs)
			if diff := cmp.Diff(tc.wantRules, rules); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantTypes, types); diff != "" {
				t.Errorf("types (-want +got):\n%s", diff)
			}
			if tc.wantLine != "" {
				if diff := cmp.Diff(tc.wantLine, describeDelegation(rules, types)); diff != "" {
					t.Errorf("describeDelegation (-want +got):\n%s", diff)
				}
			}
		})
	}
}
