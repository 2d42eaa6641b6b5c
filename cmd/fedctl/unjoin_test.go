package main

import (
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

// memberJoin is what one join made in a member, by kind and name, with the objects' UIDs.
type memberJoin map[string]types.UID

// readMemberJoin reads the ServiceAccount, token Secret, ClusterRole and ClusterRoleBinding
// that the join of the cluster local from hostContext made in the member; a missing one is left
// out.
func readMemberJoin(t *testing.T, cs kubernetes.Interface, hostContext string) memberJoin {
	t.Helper()
	sa := serviceAccountName("local", hostContext)
	found := memberJoin{}
	record := func(what string, obj metav1.Object, err error) {
		switch {
		case err == nil:
			found[what] = obj.GetUID()
		case !apierrors.IsNotFound(err):
			t.Fatalf("failed to read %s: %v", what, err)
		}
	}
	s, err := cs.CoreV1().ServiceAccounts(ns).Get(t.Context(), sa, metav1.GetOptions{})
	record("ServiceAccount "+sa, s, err)
	secret, err := cs.CoreV1().Secrets(ns).Get(t.Context(), sa+"-token", metav1.GetOptions{})
	record("Secret "+sa+"-token", secret, err)
	role, err := cs.RbacV1().ClusterRoles().Get(t.Context(), clusterRoleName(sa), metav1.GetOptions{})
	record("ClusterRole "+clusterRoleName(sa), role, err)
	binding, err := cs.RbacV1().ClusterRoleBindings().Get(t.Context(), clusterRoleName(sa), metav1.GetOptions{})
	record("ClusterRoleBinding "+clusterRoleName(sa), binding, err)
	return found
}

// whoAmI asks the member who the token of the registration name in host is, and checks that
// the token may list what the control plane lists.
func whoAmI(t *testing.T, host client.Client, name string) (string, error) {
	t.Helper()
	cs := memberClientFor(t, host, name)
	review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	if _, err := cs.AppsV1().Deployments("").List(t.Context(), metav1.ListOptions{Limit: 1}); err != nil {
		return "", err
	}
	return review.Status.UserInfo.Username, nil
}

// TestUnjoinFromOneHostKeepsAnotherHostsJoin joins the member local from two hosts, then
// unjoins it from one: the other host's ServiceAccount, token, RBAC and the namespace that holds
// them must stay, and its token must keep working.
func TestUnjoinFromOneHostKeepsAnotherHostsJoin(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	host1, err := lab.Host().InstallAPI(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	host2, err := lab.Cluster("host2").InstallAPI(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	member, err := lab.Cluster("local").Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	kubeconfig := lab.KubeconfigPath()
	run := func(command, hostContext string) (string, error) {
		return fedctl(t, command, "local", "--kubeconfig", kubeconfig, "--cluster-context", "local", "--host-cluster-context", hostContext)
	}
	t.Cleanup(func() {
		_, _ = run("unjoin", "host2")
		_, _ = run("unjoin", "host")
	})

	for _, h := range []string{"host", "host2"} {
		_, err := run("join", h)
		g.Expect(err).NotTo(HaveOccurred(), "join from %s", h)
	}
	joined := readMemberJoin(t, member, "host")
	g.Expect(joined).To(HaveLen(4), "what the join from host made")
	g.Expect(readMemberJoin(t, member, "host2")).To(HaveLen(4), "what the join from host2 made")
	user := "system:serviceaccount:" + ns + ":" + serviceAccountName("local", "host")
	g.Expect(whoAmI(t, host1, "local")).To(Equal(user))

	t.Run("unjoin from host2 keeps host's ServiceAccount, token, RBAC and namespace", func(t *testing.T) {
		g := NewWithT(t)
		out, err := run("unjoin", "host2")
		g.Expect(err).NotTo(HaveOccurred())
		t.Logf("fedctl unjoin local --host-cluster-context host2:\n%s", out)
		g.Expect(readMemberJoin(t, member, "host2")).To(BeEmpty(), "what the join from host2 made is gone")
		err = host2.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "local"}, &corev1beta1.KubeFedCluster{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "KubeFedCluster local in host2: %v", err)

		// The namespace controller would delete host's objects a moment after the namespace:
		// watch them for a while.
		g.Consistently(func(g Gomega) {
			nsObj, err := member.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(nsObj.DeletionTimestamp).To(BeNil(), "the member's namespace is being deleted")
			g.Expect(readMemberJoin(t, member, "host")).To(Equal(joined))
			g.Expect(whoAmI(t, host1, "local")).To(Equal(user))
		}).WithTimeout(3 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		g.Expect(host1.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "local"}, &corev1beta1.KubeFedCluster{})).To(Succeed())
		g.Expect(out).To(ContainSubstring("namespace " + ns + " kept"))
	})

	t.Run("unjoin from host, the last join, removes the namespace join created", func(t *testing.T) {
		g := NewWithT(t)
		out, err := run("unjoin", "host")
		g.Expect(err).NotTo(HaveOccurred())
		t.Logf("fedctl unjoin local --host-cluster-context host:\n%s", out)
		g.Expect(readMemberJoin(t, member, "host")).To(BeEmpty())
		nsObj, err := member.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err) || (err == nil && nsObj.DeletionTimestamp != nil)).To(BeTrue(), "namespace: %v", err)
	})
}

// TestUnjoinKeepsWhatItCannotProveIsItsOwn checks that unjoin keeps the member objects of an
// older join, which carry no host mark, and that a host whose kubeconfig context has the name of
// another host's cannot take over that host's join, nor remove it.
func TestUnjoinKeepsWhatItCannotProveIsItsOwn(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	host1, err := lab.Host().InstallAPI(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	_, err = lab.Cluster("host2").InstallAPI(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	member, err := lab.Cluster("local").Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	kubeconfig := lab.KubeconfigPath()
	run := func(kubeconfig, command string) (string, error) {
		return fedctl(t, command, "local", "--kubeconfig", kubeconfig, "--cluster-context", "local", "--host-cluster-context", "host")
	}
	t.Cleanup(func() { _, _ = run(kubeconfig, "unjoin") })
	user := "system:serviceaccount:" + ns + ":" + serviceAccountName("local", "host")

	t.Run("the objects of an older join, without the host's mark, are kept until join marks them", func(t *testing.T) {
		g := NewWithT(t)
		_, err := run(kubeconfig, "join")
		g.Expect(err).NotTo(HaveOccurred())
		joined := readMemberJoin(t, member, "host")
		g.Expect(joined).To(HaveLen(4))
		// An older join wrote the same objects without the host's mark.
		unmark := []byte(`{"metadata":{"labels":{"` + joinedByHostLabel + `":null}}}`)
		sa := serviceAccountName("local", "host")
		opts := metav1.PatchOptions{FieldManager: "older-fedctl"}
		_, err = member.CoreV1().ServiceAccounts(ns).Patch(t.Context(), sa, types.MergePatchType, unmark, opts)
		g.Expect(err).NotTo(HaveOccurred())
		_, err = member.CoreV1().Secrets(ns).Patch(t.Context(), sa+"-token", types.MergePatchType, unmark, opts)
		g.Expect(err).NotTo(HaveOccurred())
		_, err = member.RbacV1().ClusterRoles().Patch(t.Context(), clusterRoleName(sa), types.MergePatchType, unmark, opts)
		g.Expect(err).NotTo(HaveOccurred())
		_, err = member.RbacV1().ClusterRoleBindings().Patch(t.Context(), clusterRoleName(sa), types.MergePatchType, unmark, opts)
		g.Expect(err).NotTo(HaveOccurred())

		out, err := run(kubeconfig, "unjoin")
		g.Expect(err).NotTo(HaveOccurred())
		t.Logf("fedctl unjoin local, of an older join:\n%s", out)
		g.Expect(readMemberJoin(t, member, "host")).To(Equal(joined))
		g.Expect(out).To(ContainSubstring("ServiceAccount " + ns + "/" + sa + " kept: it has no " + joinedByHostLabel + " label"))
		g.Expect(out).To(ContainSubstring("run fedctl join again from this host"))
		g.Expect(out).To(ContainSubstring("namespace " + ns + " kept: it still holds objects that a join created (Secret " + sa + "-token, ServiceAccount " + sa + ")"))
		nsObj, err := member.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(nsObj.DeletionTimestamp).To(BeNil())

		// Joining again from the same host marks them; then unjoin removes them.
		_, err = run(kubeconfig, "join")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(readMemberJoin(t, member, "host")).To(Equal(joined), "join adopts the same objects")
		out, err = run(kubeconfig, "unjoin")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(readMemberJoin(t, member, "host")).To(BeEmpty(), "unjoin after the new join:\n%s", out)
		g.Expect(out).To(ContainSubstring("namespace " + ns + " removed"))
	})

	t.Run("a host whose context has another host's context name takes over nothing and removes nothing", func(t *testing.T) {
		g := NewWithT(t)
		_, err := run(kubeconfig, "join")
		g.Expect(err).NotTo(HaveOccurred())
		joined := readMemberJoin(t, member, "host")
		g.Expect(joined).To(HaveLen(4))

		// Another kubeconfig, where the context "host" is host2.
		raw, err := clientcmd.LoadFromFile(kubeconfig)
		g.Expect(err).NotTo(HaveOccurred())
		raw.Contexts["host"] = raw.Contexts["host2"].DeepCopy()
		other := filepath.Join(t.TempDir(), "kubeconfig")
		g.Expect(clientcmd.WriteToFile(*raw, other)).To(Succeed())

		_, err = run(other, "join")
		g.Expect(err).To(MatchError(ContainSubstring("belongs to the join of cluster \"local\" from the host with id")))
		out, err := run(other, "unjoin")
		g.Expect(err).NotTo(HaveOccurred())
		t.Logf("fedctl unjoin local from host2 named host:\n%s", out)
		g.Expect(out).To(ContainSubstring("ServiceAccount " + ns + "/" + serviceAccountName("local", "host") + " kept: it belongs to the join of cluster \"local\" from the host with id"))
		g.Expect(readMemberJoin(t, member, "host")).To(Equal(joined))
		g.Expect(whoAmI(t, host1, "local")).To(Equal(user))
	})
}
