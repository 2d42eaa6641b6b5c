package propagation_test

import (
	"context"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// restrictedRole is the ClusterRole of the restricted identity in member cce.
const restrictedRole = "e2e-restricted"

// memberRole is fedctl join's least role for the types enabled in the host, with configMapVerbs
// on ConfigMaps instead of every verb (none: no rule for ConfigMaps at all).
func memberRole(t *testing.T, host client.Client, configMapVerbs ...string) []rbacv1.PolicyRule {
	t.Helper()
	list := &corev1beta1.FederatedTypeConfigList{}
	if err := host.List(t.Context(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	ftcs := slices.DeleteFunc(list.Items, func(f corev1beta1.FederatedTypeConfig) bool { return f.Name == "configmaps" })
	rules := cluster.MemberRules(ftcs, false)
	if len(configMapVerbs) > 0 {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: configMapVerbs})
	}
	return rules
}

// restrictMember makes, in member m, a ServiceAccount bound to the ClusterRole restrictedRole
// with rules, and returns a token of it.
func restrictMember(t *testing.T, m *framework.Cluster, rules []rbacv1.PolicyRule) string {
	t.Helper()
	g := NewWithT(t)
	mc := framework.MemberClient(t, m)
	const saNamespace, sa = "e2e-restricted", "fedplane"
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: saNamespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: saNamespace, Name: sa}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: restrictedRole}, Rules: rules},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: restrictedRole},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: restrictedRole},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: saNamespace, Name: sa}},
		},
	} {
		if err := mc.Create(t.Context(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	setMemberRole(t, m, rules)
	cs, err := m.Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	tr, err := cs.CoreV1().ServiceAccounts(saNamespace).CreateToken(t.Context(), sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	return tr.Status.Token
}

// setMemberRole sets the rules of the restricted identity's ClusterRole in member m.
func setMemberRole(t *testing.T, m *framework.Cluster, rules []rbacv1.PolicyRule) {
	t.Helper()
	mc := framework.MemberClient(t, m)
	role := &rbacv1.ClusterRole{}
	g := NewWithT(t)
	g.Expect(mc.Get(t.Context(), client.ObjectKey{Name: restrictedRole}, role)).To(Succeed())
	role.Rules = rules
	g.Expect(mc.Update(t.Context(), role)).To(Succeed())
}

// setMemberToken puts token in the Secret of the registration name.
func setMemberToken(ctx context.Context, t *testing.T, host client.Client, name, token string) {
	t.Helper()
	secret := &corev1.Secret{}
	g := NewWithT(t)
	g.Expect(host.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-token"}, secret)).To(Succeed())
	secret.Data[cluster.TokenKey] = []byte(token)
	g.Expect(host.Update(ctx, secret)).To(Succeed())
}

// stampJoin stamps the registration name as fedctl join does.
func stampJoin(t *testing.T, host client.Client, name string) {
	t.Helper()
	kfc := &corev1beta1.KubeFedCluster{}
	g := NewWithT(t)
	g.Expect(host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, kfc)).To(Succeed())
	patch := client.MergeFrom(kfc.DeepCopy())
	if kfc.Annotations == nil {
		kfc.Annotations = map[string]string{}
	}
	kfc.Annotations[cluster.JoinedAnnotation] = time.Now().UTC().Format(time.RFC3339Nano)
	g.Expect(host.Patch(t.Context(), kfc, patch)).To(Succeed())
}

// memberAccess is the FederatedTypeConfig's MemberAccess condition as "Status/Reason: message",
// or "" when it has none.
func memberAccess(t *testing.T, host client.Client, name string) func() (string, error) {
	return func() (string, error) {
		ftc := &corev1beta1.FederatedTypeConfig{}
		if err := host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, ftc); err != nil {
			return "", err
		}
		c := meta.FindStatusCondition(ftc.Status.Conditions, "MemberAccess")
		if c == nil {
			return "", nil
		}
		return string(c.Status) + "/" + c.Reason + ": " + c.Message, nil
	}
}

// The namespace and the name of the FederatedConfigMap of the denial test.
const accessNamespace, accessName = "e2e-access", "settings"

// eventsWithReason returns the notes of the events with a reason about the denial test's
// FederatedConfigMap, marked "repeated: " when an event was seen more than once.
func eventsWithReason(t *testing.T, host client.Client, reason string) func() ([]string, error) {
	const namespace, name = accessNamespace, accessName
	return func() ([]string, error) {
		list := &eventsv1.EventList{}
		if err := host.List(t.Context(), list, client.InNamespace(namespace)); err != nil {
			return nil, err
		}
		out := []string{}
		for _, e := range list.Items {
			if e.Regarding.Kind == "FederatedConfigMap" && e.Regarding.Name == name && e.Reason == reason {
				if e.Series != nil && e.Series.Count > 1 {
					out = append(out, "repeated: "+e.Note)
					continue
				}
				out = append(out, e.Note)
			}
		}
		return out, nil
	}
}

// TestDeniedAccessIsReported registers member cce with an identity whose role is fedctl join's
// least role for the enabled types but ConfigMaps, as when the type was enabled after the
// join. A FederatedConfigMap placed on local and cce must say, in its status and in one Warning
// event, that cce denies listing ConfigMaps and that fedctl join must run again, and the
// FederatedTypeConfig must list cce; then with every verb but create, that cce denies create
// (a missing copy is made with a create);
// and once the role grants everything, the copy is made and every one of them clears.
func TestDeniedAccessIsReported(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	host := framework.InstallHost(t, lab.Host())
	cce := lab.Cluster("cce")
	if err := host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "cce"}, &corev1beta1.KubeFedCluster{}); apierrors.IsNotFound(err) {
		framework.RegisterMember(t, host, cce, map[string]string{"region": "lab-cce"})
	}
	setMemberToken(t.Context(), t, host, "cce", restrictMember(t, cce, memberRole(t, host)))
	// The next tests of the package use cce with its admin token (t.Context has ended by then).
	t.Cleanup(func() { setMemberToken(context.Background(), t, host, "cce", cce.Token()) })
	fed := startTypesFederation(t)

	federateNamespace(t, host, accessNamespace, "local", "cce")
	framework.ApplyObject(t, host, configMap(accessNamespace, accessName, map[string]any{"k": "v"}, "local", "cce"))
	expectDenied(t, host, typesv1beta1.CachedRetrievalFailed, "list")
	// The object is retried meanwhile; the event is not.
	g.Consistently(eventsWithReason(t, host, "CachedRetrievalFailed")).WithTimeout(5 * time.Second).WithPolling(time.Second).Should(
		Equal([]string{deniedSentence("list")}))

	// Every verb but create: the create of the missing copy is refused.
	setMemberRole(t, cce, memberRole(t, host, "get", "list", "watch", "update", "patch", "delete"))
	stampJoin(t, host, "cce")
	expectDenied(t, host, typesv1beta1.CreationFailed, "create")
	// Only cce's: local may refuse the first create, before the federated namespace reaches it.
	g.Expect(eventsWithReason(t, host, "CreateInClusterFailed")()).NotTo(ContainElement(ContainSubstring("in cluster cce")),
		"a denial is told once, not at each attempt")

	// The whole role, as join gives it once the type is enabled.
	setMemberRole(t, cce, memberRole(t, host, "get", "list", "watch", "create", "update", "patch", "delete"))
	stampJoin(t, host, "cce")
	g.Eventually(func() (*corev1.ConfigMap, error) {
		cm := &corev1.ConfigMap{}
		err := fed.Members["cce"].Get(t.Context(), client.ObjectKey{Namespace: accessNamespace, Name: accessName}, cm)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return cm, err
	}).WithTimeout(90 * time.Second).WithPolling(poll).ShouldNot(BeNil())
	g.Eventually(propagationCondition(t, host, accessNamespace, accessName)).WithTimeout(wait).WithPolling(poll).Should(Equal("True/: "))
	g.Expect(accessStatuses(t, host)()).To(Equal([]string{"cce=", "local="}))
	g.Eventually(memberAccess(t, host, "configmaps")).WithTimeout(wait).WithPolling(poll).Should(
		Equal("True/AccessAllowed: no member denied a request of the sync controller"))
}

// deniedSentence is what the status and the event say when cce denies verb on configmaps.
func deniedSentence(verb string) string {
	return `cluster cce denies ` + verb + ` on configmaps: run "fedctl join cce" again to grant it`
}

// accessStatuses reads the clusters' statuses of the denial test's FederatedConfigMap.
func accessStatuses(t *testing.T, host client.Client) func() ([]string, error) {
	return func() ([]string, error) {
		st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, accessNamespace, accessName)
		return clusterStatuses(st), err
	}
}

// expectDenied waits until the denial test's FederatedConfigMap says that cce denies verb on
// configmaps, with status, in its status and one event, and the FederatedTypeConfig lists cce.
// A role changed a moment ago may take the member cache's backoff to be seen.
func expectDenied(t *testing.T, host client.Client, status typesv1beta1.PropagationStatus, verb string) {
	t.Helper()
	g := NewWithT(t)
	g.Eventually(propagationCondition(t, host, accessNamespace, accessName)).WithTimeout(90 * time.Second).WithPolling(poll).Should(
		Equal("False/CheckClusters: " + deniedSentence(verb)))
	g.Eventually(accessStatuses(t, host)).WithTimeout(wait).WithPolling(poll).Should(Equal([]string{"cce=" + string(status), "local="}))
	g.Eventually(eventsWithReason(t, host, string(status))).WithTimeout(wait).WithPolling(poll).Should(
		Equal([]string{deniedSentence(verb)}))
	g.Eventually(memberAccess(t, host, "configmaps")).WithTimeout(wait).WithPolling(poll).Should(
		Equal(`False/AccessDenied: clusters deny requests on configmaps: cce (` + verb + `); run "fedctl join <cluster>" again for each of them to grant them`))
}
