package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// rbacDelegation is what Kubernetes asks of an identity that writes objects of an RBAC type
// granting more than the identity holds itself: a role (or cluster role) needs escalate on its
// own resource, a binding needs bind on the kinds of role it can reference (a RoleBinding can
// reference a Role or a ClusterRole, a ClusterRoleBinding only a ClusterRole).
var rbacDelegation = map[string]struct {
	verb      string
	resources []string
}{
	"roles":               {verb: "escalate", resources: []string{"roles"}},
	"clusterroles":        {verb: "escalate", resources: []string{"clusterroles"}},
	"rolebindings":        {verb: "bind", resources: []string{"clusterroles", "roles"}},
	"clusterrolebindings": {verb: "bind", resources: []string{"clusterroles"}},
}

// delegationRules are the rules that the member's least role needs on top of MemberRules for
// the enabled FederatedTypeConfigs whose target is an RBAC type: without them, the member
// refuses every federated role that grants, and every binding that references a role granting,
// something the control plane's identity does not hold. There is one rule per verb, and the
// result is empty when no RBAC type is enabled. types names, sorted, the FederatedTypeConfigs
// that need them.
func delegationRules(ftcs []corev1beta1.FederatedTypeConfig) (rules []rbacv1.PolicyRule, types []string) {
	byVerb := map[string][]string{}
	for _, ftc := range ftcs {
		t := ftc.Spec.TargetType
		d, ok := rbacDelegation[t.PluralName]
		if !ok || t.Group != rbacv1.GroupName || ftc.Spec.Propagation != corev1beta1.PropagationEnabled {
			continue
		}
		for _, r := range d.resources {
			if !slices.Contains(byVerb[d.verb], r) {
				byVerb[d.verb] = append(byVerb[d.verb], r)
			}
		}
		types = append(types, groupQualifiedName(t.PluralName, t.Group))
	}
	verbs := make([]string, 0, len(byVerb))
	for v := range byVerb {
		verbs = append(verbs, v)
	}
	sort.Strings(verbs)
	for _, v := range verbs {
		resources := byVerb[v]
		sort.Strings(resources)
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{rbacv1.GroupName}, Resources: resources, Verbs: []string{v}})
	}
	sort.Strings(types)
	return rules, slices.Compact(types)
}

// describeDelegation is join's line about the rules of delegationRules: which verbs, on what,
// and why.
func describeDelegation(rules []rbacv1.PolicyRule, types []string) string {
	return fmt.Sprintf("the role also grants %s: the enabled RBAC types (%s) federate roles and bindings that may grant more than the role itself holds",
		describeVerbs(rules), strings.Join(types, ", "))
}

// describeVerbs names the verbs of rules and their resources: "bind on clusterroles and
// escalate on clusterroles,roles".
func describeVerbs(rules []rbacv1.PolicyRule) string {
	parts := make([]string, 0, len(rules))
	for _, r := range rules {
		parts = append(parts, strings.Join(r.Verbs, ",")+" on "+strings.Join(r.Resources, ","))
	}
	return strings.Join(parts, " and ")
}
