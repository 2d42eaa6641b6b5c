package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// fieldManager is the field manager of what fedctl applies.
const fieldManager = "fedctl"

// Labels that mark what join created, so that unjoin removes exactly that. joinedByHostLabel
// holds the host's id (see hostID): two hosts can join one member, and unjoin from one of them
// must leave the other's objects alone.
const (
	joinedClusterLabel = "fedplane.io/joined-cluster"
	joinedByHostLabel  = "fedplane.io/joined-by-host"
	createdByLabel     = "fedplane.io/created-by"
	createdByJoin      = "fedctl-join"
)

var (
	kubeFedClusterResource      = corev1beta1.GroupVersion.WithResource("kubefedclusters")
	federatedTypeConfigResource = corev1beta1.GroupVersion.WithResource("federatedtypeconfigs")
)

// clusterFlags are the flags that join and unjoin share.
type clusterFlags struct {
	kubeconfig     string
	clusterContext string
	hostContext    string
	// hostName stands for the host's context in the names of the member's objects.
	hostName  string
	namespace string
}

// hostClusterName is the host's name in the names of the member's objects (see
// serviceAccountName): --host-cluster-name, or the host's context.
func (f *clusterFlags) hostClusterName() string {
	if f.hostName != "" {
		return f.hostName
	}
	return f.hostContext
}

func (f *clusterFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig with both contexts; empty means $KUBECONFIG or ~/.kube/config")
	cmd.Flags().StringVar(&f.clusterContext, "cluster-context", "", "kubeconfig context of the member cluster (required)")
	cmd.Flags().StringVar(&f.hostContext, "host-cluster-context", "", "kubeconfig context of the host cluster (required)")
	cmd.Flags().StringVar(&f.hostName, "host-cluster-name", "", "name of the host in the names of the member's ServiceAccount and RBAC objects, instead of --host-cluster-context (as kubefedctl's flag); give join and unjoin the same")
	cmd.Flags().StringVar(&f.namespace, "kubefed-namespace", corev1beta1.DefaultNamespace, "namespace of the control plane, in the host and in the member")
	_ = cmd.MarkFlagRequired("cluster-context")
	_ = cmd.MarkFlagRequired("host-cluster-context")
}

// contexts resolves the kubeconfig: the raw configuration, and the client configurations of
// the member and the host.
type contexts struct {
	raw          clientcmdapi.Config
	member, host *rest.Config
}

// hostClients returns the host's typed client and its client for the KubeFedClusters of the
// control plane's namespace.
func (c *contexts) hostClients(namespace string) (kubernetes.Interface, dynamic.ResourceInterface, error) {
	host, err := kubernetes.NewForConfig(c.host)
	if err != nil {
		return nil, nil, err
	}
	dyn, err := dynamic.NewForConfig(c.host)
	if err != nil {
		return nil, nil, err
	}
	return host, dyn.Resource(kubeFedClusterResource).Namespace(namespace), nil
}

func (f *clusterFlags) load() (*contexts, error) {
	if f.hostName != "" {
		if errs := validation.IsDNS1123Subdomain(f.hostName); len(errs) > 0 {
			return nil, fmt.Errorf("invalid --host-cluster-name %q: it goes into the names of the member's objects: %s", f.hostName, strings.Join(errs, "; "))
		}
	}
	raw, rules, err := loadKubeconfig(f.kubeconfig)
	if err != nil {
		return nil, err
	}
	c := &contexts{raw: *raw}
	for _, x := range []struct {
		name string
		into **rest.Config
	}{{f.clusterContext, &c.member}, {f.hostContext, &c.host}} {
		cfg, err := contextConfig(raw, rules, x.name)
		if err != nil {
			return nil, err
		}
		*x.into = cfg
	}
	return c, nil
}

// loadKubeconfig reads the kubeconfig at path, or the default one ($KUBECONFIG or
// ~/.kube/config) when path is empty.
func loadKubeconfig(path string) (*clientcmdapi.Config, *clientcmd.ClientConfigLoadingRules, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, nil, fmt.Errorf("failed to load the kubeconfig: %w", err)
	}
	return raw, rules, nil
}

// contextConfig returns the client configuration of the named context of the kubeconfig.
func contextConfig(raw *clientcmdapi.Config, rules *clientcmd.ClientConfigLoadingRules, name string) (*rest.Config, error) {
	if _, ok := raw.Contexts[name]; !ok {
		return nil, fmt.Errorf("the kubeconfig has no context %q", name)
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, name, &clientcmd.ConfigOverrides{}, rules).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to read context %q: %w", name, err)
	}
	return cfg, nil
}

// invalidNameChars are the characters a Kubernetes name cannot hold.
var invalidNameChars = regexp.MustCompile(`[^a-z0-9.-]+`)

// serviceAccountName is the name of the control plane's service account in the member:
// KubeFed's "<cluster>-<host name>", made a valid name. The host name is --host-cluster-name,
// or the host's context.
func serviceAccountName(cluster, hostName string) string {
	name := strings.ToLower(cluster + "-" + hostName)
	name = invalidNameChars.ReplaceAllString(name, "-")
	name = strings.Trim(name, "-.")
	if len(name) > 200 {
		name = name[:200]
	}
	return name
}

func clusterRoleName(sa string) string { return "kubefed-controller-manager:" + sa }

type joinOptions struct {
	clusterFlags
	secretName      string
	dryRun          bool
	errorOnExisting bool
	broadRole       bool
	timeout         time.Duration
}

func newJoinCommand() *cobra.Command {
	o := &joinOptions{}
	cmd := &cobra.Command{
		Use:   "join NAME --cluster-context CONTEXT --host-cluster-context CONTEXT",
		Short: "Register a member cluster with the host",
		Long: `Register a member cluster with the host cluster, as the KubeFedCluster NAME.

In the member it creates (or updates) the control plane's namespace, a ServiceAccount
NAME-HOST (HOST is --host-cluster-name, or else the host's context, as with kubefedctl), a
long-lived token Secret, and a ClusterRole and ClusterRoleBinding that grant what fed-controller
needs: full control of the target types of the FederatedTypeConfigs enabled in the host, read
access to nodes and pods, and the health and version endpoints. When an RBAC type is enabled
(roles, clusterroles, rolebindings, clusterrolebindings), the role also grants escalate or bind
on the kinds of role that type needs, and join says so: Kubernetes refuses, without them, roles
and bindings that grant more than the role holds. With escalate or bind on clusterroles the
member's joined identity can make itself cluster-admin there. --broad-role grants KubeFed's
everything-on-everything role instead. In the host it creates the Secret with the token and the
member's CA, and the KubeFedCluster with the member's endpoint, CA bundle and proxy URL, taken
from the member's kubeconfig context; a context that skips TLS verification gives
disabledTLSValidations ["*"].

Every member object is labelled with NAME and the host's id (the UID of the control plane's
namespace in the host), so that unjoin removes only what this host's join of NAME created. join
refuses to take over an object of the same name that another host's join made.

join can be run again: it applies the same objects, so running it after more types are enabled
in the host extends the member's role to them. Joining the host to itself works.`,
		Example: `  fedctl join cce --cluster-context cce --host-cluster-context host
  fedctl join cce --cluster-context cce --host-cluster-context arn:aws:eks:eu-west-1:1:cluster/hub --host-cluster-name hub
  fedctl join host --cluster-context host --host-cluster-context host`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args[0], cmd.OutOrStdout())
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVar(&o.secretName, "secret-name", "", "name of the host Secret with the member's token (default NAME-token)")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "validate every object with the API servers and print what would be applied, writing nothing")
	cmd.Flags().BoolVar(&o.errorOnExisting, "error-on-existing", false, "fail when the KubeFedCluster NAME already exists, instead of updating it")
	cmd.Flags().BoolVar(&o.broadRole, "broad-role", false, "grant KubeFed's role ('*' on '*') in the member instead of the least one")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long to wait for the API servers and the member's token")
	return cmd
}

func (o *joinOptions) run(ctx context.Context, name string, out io.Writer) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("invalid cluster name %q: %s", name, strings.Join(errs, "; "))
	}
	if o.secretName == "" {
		o.secretName = name + "-token"
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	c, err := o.load()
	if err != nil {
		return err
	}
	endpoint, ca, insecure, proxy, err := clusterEntry(c.raw, o.clusterContext)
	if err != nil {
		return err
	}
	member, err := kubernetes.NewForConfig(c.member)
	if err != nil {
		return err
	}
	host, kfcs, err := c.hostClients(o.namespace)
	if err != nil {
		return err
	}
	if o.errorOnExisting {
		if _, err := kfcs.Get(ctx, name, metav1.GetOptions{}); err == nil {
			return fmt.Errorf("KubeFedCluster %s/%s already exists (--error-on-existing)", o.namespace, name)
		} else if !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to read KubeFedCluster %s: %w", name, err)
		}
	}
	ftcs, err := enabledTypeConfigs(ctx, c.host, o.namespace)
	if err != nil {
		return err
	}
	apply := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	if o.dryRun {
		apply.DryRun = []string{metav1.DryRunAll}
	}
	say := func(format string, args ...any) {
		prefix := ""
		if o.dryRun {
			prefix = "(dry run) "
		}
		_, _ = fmt.Fprintf(out, prefix+format+"\n", args...)
	}

	// The host's namespace comes first: its UID marks what join creates in the member.
	if err := ensureNamespace(ctx, host, o.namespace, o.dryRun); err != nil {
		return fmt.Errorf("host %s: %w", o.hostContext, err)
	}
	id, found, err := hostID(ctx, host, o.namespace)
	if err != nil {
		return fmt.Errorf("host %s: %w", o.hostContext, err)
	}
	if found {
		say("host %s: id %s (UID of namespace %s) marks the member's objects", o.hostContext, id, o.namespace)
	} else {
		say("host %s: namespace %s would be created; its UID would mark the member's objects", o.hostContext, o.namespace)
	}

	// Member side.
	sa := serviceAccountName(name, o.hostClusterName())
	if err := refuseOtherJoins(ctx, memberObjects(member, o.namespace, sa), name, id); err != nil {
		return fmt.Errorf("member %s: %w", o.clusterContext, err)
	}
	if err := ensureNamespace(ctx, member, o.namespace, o.dryRun); err != nil {
		return fmt.Errorf("member %s: %w", o.clusterContext, err)
	}
	labels := joinLabels(name, id)
	if _, err := member.CoreV1().ServiceAccounts(o.namespace).Apply(ctx,
		corev1ac.ServiceAccount(sa, o.namespace).WithLabels(labels), apply); err != nil {
		return fmt.Errorf("member %s: failed to apply ServiceAccount %s: %w", o.clusterContext, sa, err)
	}
	say("member %s: ServiceAccount %s/%s", o.clusterContext, o.namespace, sa)
	tokenSecret := sa + "-token"
	if _, err := member.CoreV1().Secrets(o.namespace).Apply(ctx,
		corev1ac.Secret(tokenSecret, o.namespace).WithLabels(labels).
			WithAnnotations(map[string]string{corev1.ServiceAccountNameKey: sa}).
			WithType(corev1.SecretTypeServiceAccountToken), apply); err != nil {
		return fmt.Errorf("member %s: failed to apply Secret %s: %w", o.clusterContext, tokenSecret, err)
	}
	say("member %s: Secret %s/%s (long-lived token of the ServiceAccount)", o.clusterContext, o.namespace, tokenSecret)
	role := rbacv1ac.ClusterRole(clusterRoleName(sa)).WithLabels(labels)
	rules := cluster.MemberRules(ftcs, o.broadRole)
	var delegation []rbacv1.PolicyRule
	var rbacTypes []string
	if !o.broadRole {
		delegation, rbacTypes = delegationRules(ftcs)
		rules = append(rules, delegation...)
	}
	for _, r := range rules {
		role.WithRules(rbacv1ac.PolicyRule().WithAPIGroups(r.APIGroups...).WithResources(r.Resources...).
			WithVerbs(r.Verbs...).WithNonResourceURLs(r.NonResourceURLs...))
	}
	if _, err := member.RbacV1().ClusterRoles().Apply(ctx, role, apply); err != nil {
		return fmt.Errorf("member %s: failed to apply ClusterRole: %w", o.clusterContext, err)
	}
	if _, err := member.RbacV1().ClusterRoleBindings().Apply(ctx,
		rbacv1ac.ClusterRoleBinding(clusterRoleName(sa)).WithLabels(labels).
			WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("ClusterRole").WithName(clusterRoleName(sa))).
			WithSubjects(rbacv1ac.Subject().WithKind("ServiceAccount").WithName(sa).WithNamespace(o.namespace)), apply); err != nil {
		return fmt.Errorf("member %s: failed to apply ClusterRoleBinding: %w", o.clusterContext, err)
	}
	say("member %s: ClusterRole and ClusterRoleBinding %s (%d rules)", o.clusterContext, clusterRoleName(sa), len(rules))
	if len(delegation) > 0 {
		say("member %s: %s", o.clusterContext, describeDelegation(delegation, rbacTypes))
	}

	token, tokenCA := []byte("dry-run"), []byte(nil)
	if !o.dryRun {
		if token, tokenCA, err = waitForToken(ctx, member, o.namespace, tokenSecret); err != nil {
			return fmt.Errorf("member %s: %w", o.clusterContext, err)
		}
	}

	// Host side.
	secretData := map[string][]byte{cluster.TokenKey: token}
	if len(tokenCA) > 0 {
		secretData[cluster.CACertKey] = tokenCA
	}
	if _, err := host.CoreV1().Secrets(o.namespace).Apply(ctx,
		corev1ac.Secret(o.secretName, o.namespace).WithLabels(labels).WithType(corev1.SecretTypeOpaque).WithData(secretData), apply); err != nil {
		return fmt.Errorf("host %s: failed to apply Secret %s: %w", o.hostContext, o.secretName, err)
	}
	say("host %s: Secret %s/%s", o.hostContext, o.namespace, o.secretName)
	kfc := &corev1beta1.KubeFedCluster{
		TypeMeta: metav1.TypeMeta{APIVersion: corev1beta1.GroupVersion.String(), Kind: "KubeFedCluster"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: o.namespace, Labels: labels,
			// Every join stamps the registration, so that a re-join that only changed the
			// member's side (its role) still brings back every object that failed there.
			Annotations: map[string]string{cluster.JoinedAnnotation: time.Now().UTC().Format(time.RFC3339)},
		},
		Spec: corev1beta1.KubeFedClusterSpec{
			APIEndpoint: endpoint, SecretRef: corev1beta1.LocalSecretReference{Name: o.secretName}, ProxyURL: proxy,
		},
	}
	if insecure {
		kfc.Spec.DisabledTLSValidations = []corev1beta1.TLSValidation{corev1beta1.TLSAll}
	} else {
		kfc.Spec.CABundle = ca
	}
	u, err := applyObject(kfc)
	if err != nil {
		return err
	}
	if _, err := kfcs.Apply(ctx, name, u, apply); err != nil {
		return fmt.Errorf("host %s: failed to apply KubeFedCluster %s: %w", o.hostContext, name, err)
	}
	say("host %s: KubeFedCluster %s/%s (endpoint %s)", o.hostContext, o.namespace, name, endpoint)
	if !o.dryRun {
		say("Cluster %s joined. fed-controller reports its health: kubectl get kubefedclusters -n %s", name, o.namespace)
	}
	return nil
}

// clusterEntry reads the member's endpoint, CA, TLS verification and proxy from its context.
func clusterEntry(raw clientcmdapi.Config, contextName string) (endpoint string, ca []byte, insecure bool, proxy string, err error) {
	ctx := raw.Contexts[contextName]
	cl, ok := raw.Clusters[ctx.Cluster]
	if !ok {
		return "", nil, false, "", fmt.Errorf("context %q names cluster %q, which the kubeconfig does not have", contextName, ctx.Cluster)
	}
	ca = cl.CertificateAuthorityData
	if len(ca) == 0 && cl.CertificateAuthority != "" {
		if ca, err = os.ReadFile(cl.CertificateAuthority); err != nil {
			return "", nil, false, "", fmt.Errorf("failed to read the CA of context %q: %w", contextName, err)
		}
	}
	return cl.Server, ca, cl.InsecureSkipTLSVerify, cl.ProxyURL, nil
}

func enabledTypeConfigs(ctx context.Context, cfg *rest.Config, namespace string) ([]corev1beta1.FederatedTypeConfig, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	list, err := dyn.Resource(federatedTypeConfigResource).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to list the host's FederatedTypeConfigs (is fedplane installed? run make install): %w", err)
	}
	ftcs := make([]corev1beta1.FederatedTypeConfig, 0, len(list.Items))
	for _, item := range list.Items {
		var ftc corev1beta1.FederatedTypeConfig
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.Object, &ftc); err != nil {
			return nil, fmt.Errorf("failed to decode FederatedTypeConfig %s: %w", item.GetName(), err)
		}
		ftcs = append(ftcs, ftc)
	}
	return ftcs, nil
}

// ensureNamespace creates namespace when it is missing, labelled as created by join. A
// namespace that is being deleted (a moment after an unjoin) is waited for, then created again.
func ensureNamespace(ctx context.Context, cs kubernetes.Interface, namespace string, dryRun bool) error {
	current, err := cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	switch {
	case err == nil && current.DeletionTimestamp == nil:
		return nil
	case err == nil:
		if err := waitForNamespaceGone(ctx, cs, namespace); err != nil {
			return err
		}
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("failed to read namespace %s: %w", namespace, err)
	}
	opts := metav1.CreateOptions{FieldManager: fieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: map[string]string{createdByLabel: createdByJoin}}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, opts); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create namespace %s: %w", namespace, err)
	}
	return nil
}

// waitForNamespaceGone waits until the namespace that is being deleted is gone.
func waitForNamespaceGone(ctx context.Context, cs kubernetes.Interface, namespace string) error {
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("namespace %s is being deleted and was not gone in time: %w", namespace, err)
	}
	return nil
}

// waitForToken waits until the token controller has filled the Secret and returns its token
// and CA.
func waitForToken(ctx context.Context, cs kubernetes.Interface, namespace, name string) (token, ca []byte, err error) {
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		s, err := cs.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		token, ca = s.Data[corev1.ServiceAccountTokenKey], s.Data[corev1.ServiceAccountRootCAKey]
		return len(token) > 0, nil
	})
	if err != nil {
		return nil, nil, errors.New("the token controller did not fill Secret " + namespace + "/" + name + " in time (does the member run kube-controller-manager with a service account key?)")
	}
	return token, ca, nil
}

// applyObject turns a typed object into what server-side apply takes, without the fields the
// server sets.
func applyObject(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("failed to encode %T: %w", obj, err)
	}
	delete(m, "status")
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	return &unstructured.Unstructured{Object: m}, nil
}
