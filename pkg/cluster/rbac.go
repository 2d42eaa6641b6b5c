package cluster

import (
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// MemberRules are the permissions that the control plane's service account needs in a member:
// full control of the target types of the enabled FederatedTypeConfigs, read access to nodes
// (topology) and pods (replica scheduling), the kube-system namespace (the member's identity),
// and the health and version endpoints. With broad,
// it is KubeFed's role instead: everything on everything.
func MemberRules(ftcs []corev1beta1.FederatedTypeConfig, broad bool) []rbacv1.PolicyRule {
	if broad {
		return []rbacv1.PolicyRule{
			{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
			{NonResourceURLs: []string{"*"}, Verbs: []string{"get"}},
		}
	}
	byGroup := map[string]map[string]bool{}
	for _, ftc := range ftcs {
		if ftc.Spec.Propagation != corev1beta1.PropagationEnabled {
			continue
		}
		t := ftc.Spec.TargetType
		if byGroup[t.Group] == nil {
			byGroup[t.Group] = map[string]bool{}
		}
		byGroup[t.Group][t.PluralName] = true
	}
	groups := make([]string, 0, len(byGroup))
	for g := range byGroup {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	rules := make([]rbacv1.PolicyRule, 0, len(groups)+4)
	for _, g := range groups {
		resources := make([]string, 0, len(byGroup[g]))
		for r := range byGroup[g] {
			resources = append(resources, r)
		}
		sort.Strings(resources)
		rules = append(rules, rbacv1.PolicyRule{
			APIGroups: []string{g}, Resources: resources,
			Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"},
		})
	}
	return append(rules,
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes", "pods"}, Verbs: []string{"get", "list", "watch"}},
		// The member's identity, which tells two registrations of one cluster apart.
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{IdentityNamespace}, Verbs: []string{"get"}},
		rbacv1.PolicyRule{NonResourceURLs: []string{"/healthz", "/readyz", "/livez", "/version"}, Verbs: []string{"get"}},
	)
}
