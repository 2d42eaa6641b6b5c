package cluster

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

func ftc(group, plural string, mode corev1beta1.PropagationMode) corev1beta1.FederatedTypeConfig {
	return corev1beta1.FederatedTypeConfig{Spec: corev1beta1.FederatedTypeConfigSpec{
		TargetType: corev1beta1.APIResource{Group: group, Version: "v1", PluralName: plural}, Propagation: mode,
	}}
}

func TestMemberRules(t *testing.T) {
	all := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	reads := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes", "pods"}, Verbs: []string{"get", "list", "watch"}}
	identity := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"kube-system"}, Verbs: []string{"get"}}
	endpoints := rbacv1.PolicyRule{NonResourceURLs: []string{"/healthz", "/readyz", "/livez", "/version"}, Verbs: []string{"get"}}
	cases := []struct {
		name  string
		ftcs  []corev1beta1.FederatedTypeConfig
		broad bool
		want  []rbacv1.PolicyRule
	}{
		{name: "no enabled type: reads, identity and health only", want: []rbacv1.PolicyRule{reads, identity, endpoints}},
		{
			name: "enabled types by group, sorted; disabled ones left out",
			ftcs: []corev1beta1.FederatedTypeConfig{
				ftc("apps", "replicasets", corev1beta1.PropagationEnabled),
				ftc("", "configmaps", corev1beta1.PropagationEnabled),
				ftc("apps", "deployments", corev1beta1.PropagationEnabled),
				ftc("batch", "jobs", corev1beta1.PropagationDisabled),
			},
			want: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: all},
				{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets"}, Verbs: all},
				reads, identity, endpoints,
			},
		},
		{
			name:  "broad is KubeFed's everything-on-everything role",
			ftcs:  []corev1beta1.FederatedTypeConfig{ftc("", "configmaps", corev1beta1.PropagationEnabled)},
			broad: true,
			want: []rbacv1.PolicyRule{
				{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
				{NonResourceURLs: []string{"*"}, Verbs: []string{"get"}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, MemberRules(tc.ftcs, tc.broad)); diff != "" {
				t.Errorf("MemberRules() (-want +got):\n%s", diff)
			}
		})
	}
}
