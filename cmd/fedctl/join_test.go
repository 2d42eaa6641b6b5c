package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

const ns = corev1beta1.DefaultNamespace

// joinedObjects lists, in a cluster, what join labelled for the named cluster.
func joinedObjects(t *testing.T, cs kubernetes.Interface, name string) []string {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: joinedClusterLabel + "=" + name}
	var found []string
	sas, err := cs.CoreV1().ServiceAccounts("").List(t.Context(), sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range sas.Items {
		found = append(found, "ServiceAccount "+o.Namespace+"/"+o.Name)
	}
	secrets, err := cs.CoreV1().Secrets("").List(t.Context(), sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range secrets.Items {
		found = append(found, "Secret "+o.Namespace+"/"+o.Name)
	}
	roles, err := cs.RbacV1().ClusterRoles().List(t.Context(), sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range roles.Items {
		found = append(found, "ClusterRole "+o.Name)
	}
	bindings, err := cs.RbacV1().ClusterRoleBindings().List(t.Context(), sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range bindings.Items {
		found = append(found, "ClusterRoleBinding "+o.Name)
	}
	return found
}

// memberClientFor connects to a member as the control plane would, from its registration.
func memberClientFor(t *testing.T, c client.Client, name string) kubernetes.Interface {
	t.Helper()
	kfc := &corev1beta1.KubeFedCluster{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, kfc); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: kfc.Spec.SecretRef.Name}, secret); err != nil {
		t.Fatal(err)
	}
	cfg, err := cluster.RESTConfig(kfc, secret)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestJoinAndUnjoin(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	c, err := lab.Host().InstallAPI(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	kubeconfig := lab.KubeconfigPath()
	join := func(name, clusterContext string, extra ...string) error {
		_, err := fedctl(t, append([]string{"join", name, "--kubeconfig", kubeconfig, "--cluster-context", clusterContext, "--host-cluster-context", "host"}, extra...)...)
		return err
	}

	// The health controller runs as in fed-controller, probing every second.
	hc := kubefedconfig.Default(ns)
	hc.Spec.ClusterHealthCheck.Period = &metav1.Duration{Duration: time.Second}
	g.Expect(c.Create(t.Context(), hc)).To(Succeed())
	mgr, err := ctrl.NewManager(lab.Host().RESTConfig(), ctrl.Options{
		Scheme: c.Scheme(), Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect((&cluster.HealthReconciler{Client: mgr.GetClient(), Namespace: ns}).SetupWithManager(mgr)).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })

	t.Run("members and the host itself join and become Ready with their version", func(t *testing.T) {
		g := NewWithT(t)
		for name, ctxName := range map[string]string{"local": "local", "cce": "cce", "host": "host"} {
			g.Expect(join(name, ctxName)).To(Succeed(), name)
		}
		joined := time.Now()
		for _, name := range []string{"local", "cce", "host"} {
			g.Eventually(func() corev1beta1.KubeFedClusterStatus {
				kfc := &corev1beta1.KubeFedCluster{}
				_ = c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, kfc)
				return kfc.Status
			}).WithTimeout(2*time.Second+5*time.Second).WithPolling(50*time.Millisecond).Should(And(
				WithTransform(cluster.IsReady, BeTrue()), HaveField("KubernetesVersion", "v1.37.2")), name)
		}
		t.Logf("local, cce and host Ready %v after joining", time.Since(joined).Round(time.Millisecond))
		kfc := &corev1beta1.KubeFedCluster{}
		g.Expect(c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "cce"}, kfc)).To(Succeed())
		g.Expect(kfc.Spec.APIEndpoint).To(Equal(lab.Cluster("cce").Server()))
		g.Expect(kfc.Spec.CABundle).To(Equal(lab.Cluster("cce").CACert()))
		g.Expect(kfc.Spec.DisabledTLSValidations).To(BeEmpty())
	})

	t.Run("the member token has the least privilege", func(t *testing.T) {
		g := NewWithT(t)
		cs := memberClientFor(t, c, "cce")
		_, err := cs.AppsV1().Deployments("").List(t.Context(), metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred(), "deployments are an enabled type")
		_, err = cs.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred(), "nodes give the topology")
		_, err = cs.StorageV1().StorageClasses().List(t.Context(), metav1.ListOptions{})
		g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "storage classes are no enabled type: %v", err)
		_, err = cs.CoordinationV1().Leases("kube-system").List(t.Context(), metav1.ListOptions{})
		g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "leases are no enabled type: %v", err)
	})

	t.Run("joining again changes nothing; --error-on-existing refuses", func(t *testing.T) {
		g := NewWithT(t)
		kfc := &corev1beta1.KubeFedCluster{}
		g.Expect(c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "local"}, kfc)).To(Succeed())
		g.Expect(join("local", "local")).To(Succeed())
		again := &corev1beta1.KubeFedCluster{}
		g.Expect(c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "local"}, again)).To(Succeed())
		g.Expect(again.Spec).To(Equal(kfc.Spec))
		g.Expect(again.Generation).To(Equal(kfc.Generation))
		g.Expect(join("local", "local", "--error-on-existing")).To(MatchError(ContainSubstring("already exists")))
	})

	t.Run("a dry run writes nothing", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(join("dry", "cce", "--dry-run")).To(Succeed())
		err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "dry"}, &corev1beta1.KubeFedCluster{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "got %v", err)
		cs, err := lab.Cluster("cce").Clientset()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(joinedObjects(t, cs, "dry")).To(BeEmpty())
	})

	t.Run("a context that skips TLS verification joins, and is known as a second registration of cce", func(t *testing.T) {
		g := NewWithT(t)
		raw, err := clientcmd.LoadFromFile(kubeconfig)
		g.Expect(err).NotTo(HaveOccurred())
		insecure := raw.Clusters["cce"].DeepCopy()
		insecure.CertificateAuthorityData = nil
		insecure.InsecureSkipTLSVerify = true
		raw.Clusters["cce-insecure"] = insecure
		ctxCopy := raw.Contexts["cce"].DeepCopy()
		ctxCopy.Cluster = "cce-insecure"
		raw.Contexts["cce-insecure"] = ctxCopy
		path := filepath.Join(t.TempDir(), "kubeconfig")
		g.Expect(clientcmd.WriteToFile(*raw, path)).To(Succeed())
		_, err = fedctl(t, "join", "cce-insecure", "--kubeconfig", path, "--cluster-context", "cce-insecure", "--host-cluster-context", "host")
		g.Expect(err).NotTo(HaveOccurred())
		kfc := &corev1beta1.KubeFedCluster{}
		g.Expect(c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "cce-insecure"}, kfc)).To(Succeed())
		g.Expect(kfc.Spec.DisabledTLSValidations).To(Equal([]corev1beta1.TLSValidation{corev1beta1.TLSAll}))
		g.Expect(kfc.Spec.CABundle).To(BeEmpty())
		// The probe reaches cce without verifying TLS and reads its identity: it is cce's, so the
		// older registration keeps the cluster and this one says why it is not used.
		cceKFC := &corev1beta1.KubeFedCluster{}
		g.Expect(c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "cce"}, cceKFC)).To(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "cce-insecure"}, kfc)).To(Succeed())
			g.Expect(kfc.Status.ClusterID).NotTo(BeEmpty())
			g.Expect(kfc.Status.ClusterID).To(Equal(cceKFC.Status.ClusterID))
			g.Expect(kfc.Status.Conditions).To(ContainElement(And(
				HaveField("Type", corev1beta1.ClusterReady),
				HaveField("Reason", HaveValue(Equal(corev1beta1.ReasonDuplicateCluster))),
				HaveField("Message", HaveValue(ContainSubstring("KubeFedCluster cce "))),
			)))
		}).WithTimeout(10 * time.Second).Should(Succeed())
		_, err = fedctl(t, "unjoin", "cce-insecure", "--kubeconfig", path, "--cluster-context", "cce-insecure", "--host-cluster-context", "host")
		g.Expect(err).NotTo(HaveOccurred())
	})

	t.Run("--host-cluster-name names the member's objects in place of the host's context, for join and unjoin", func(t *testing.T) {
		g := NewWithT(t)
		args := []string{"--kubeconfig", kubeconfig, "--cluster-context", "cce", "--host-cluster-context", "host", "--host-cluster-name", "hub"}
		out, err := fedctl(t, append([]string{"join", "named"}, args...)...)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("member cce: ServiceAccount " + ns + "/named-hub\n"))
		member, err := lab.Cluster("cce").Clientset()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(joinedObjects(t, member, "named")).To(ConsistOf(
			"ServiceAccount "+ns+"/named-hub", "Secret "+ns+"/named-hub-token",
			"ClusterRole kubefed-controller-manager:named-hub", "ClusterRoleBinding kubefed-controller-manager:named-hub"))
		_, err = fedctl(t, append([]string{"unjoin", "named"}, args...)...)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(joinedObjects(t, member, "named")).To(BeEmpty())
	})

	t.Run("unjoin leaves nothing behind, and never the host's own namespace", func(t *testing.T) {
		g := NewWithT(t)
		host, err := lab.Host().Clientset()
		g.Expect(err).NotTo(HaveOccurred())
		for _, name := range []string{"local", "cce", "host"} {
			member, err := lab.Cluster(name).Clientset()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(joinedObjects(t, member, name)).NotTo(BeEmpty(), "join created objects in %s", name)
			_, err = fedctl(t, "unjoin", name, "--kubeconfig", kubeconfig, "--cluster-context", name, "--host-cluster-context", "host")
			g.Expect(err).NotTo(HaveOccurred(), name)
			g.Expect(joinedObjects(t, member, name)).To(BeEmpty(), "left in member %s", name)
			g.Expect(joinedObjects(t, host, name)).To(BeEmpty(), "left in the host for %s", name)
			err = c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &corev1beta1.KubeFedCluster{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "KubeFedCluster %s: %v", name, err)
			if name != "host" {
				nsObj, err := member.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
				g.Expect(apierrors.IsNotFound(err) || (err == nil && nsObj.DeletionTimestamp != nil)).To(BeTrue(), "namespace in %s: %v", name, err)
			}
		}
		_, err = host.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred(), "the host's own namespace stays")
	})
}

func TestJoinRefusesAHostClusterNameThatCannotBeInAName(t *testing.T) {
	for _, command := range []string{"join", "unjoin"} {
		for _, bad := range []string{"arn:aws:eks/hub", "Hub", "hub/1"} {
			_, err := fedctl(t, command, "cce", "--kubeconfig", filepath.Join(t.TempDir(), "none"), "--cluster-context", "cce", "--host-cluster-context", "host", "--host-cluster-name", bad)
			if err == nil || !strings.Contains(err.Error(), `invalid --host-cluster-name "`+bad+`"`) {
				t.Errorf("%s --host-cluster-name %q: got %v, want an error naming the flag", command, bad, err)
			}
		}
	}
}
