package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/federate/typegen"
)

// hostFlags are the flags of the commands that work in the host cluster only: enable, disable,
// federate and orphaning.
type hostFlags struct {
	kubeconfig string
	context    string
	namespace  string
}

func (f *hostFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the host cluster; empty means $KUBECONFIG or ~/.kube/config")
	cmd.Flags().StringVar(&f.context, "context", "", "kubeconfig context of the host cluster; empty means the current context")
	// kubefedctl names the host's context --host-cluster-context in these commands too.
	cmd.Flags().StringVar(&f.context, "host-cluster-context", "", "the same as --context (kubefedctl's name)")
	cmd.MarkFlagsMutuallyExclusive("context", "host-cluster-context")
	cmd.Flags().StringVar(&f.namespace, "kubefed-namespace", corev1beta1.DefaultNamespace, "namespace of the control plane in the host, which holds the FederatedTypeConfigs")
}

// hostClient talks to the host cluster.
type hostClient struct {
	config *rest.Config
	dyn    dynamic.Interface
	disc   discovery.DiscoveryInterface
	// contextName is the kubeconfig context, for messages.
	contextName string
	// namespace is the control plane's namespace.
	namespace string
	// contextNamespace is the namespace of the kubeconfig context ("default" when it has none).
	contextNamespace string
}

// connect loads the kubeconfig and returns a client of the host.
func (f *hostFlags) connect() (*hostClient, error) {
	raw, rules, err := loadKubeconfig(f.kubeconfig)
	if err != nil {
		return nil, err
	}
	name := f.context
	if name == "" {
		if name = raw.CurrentContext; name == "" {
			return nil, errors.New("the kubeconfig has no current context: name the host's with --context")
		}
	}
	cfg, err := contextConfig(raw, rules, name)
	if err != nil {
		return nil, err
	}
	// Discovery and --contents make many small requests; client-go's default of 5 per second
	// would make fedctl wait for nothing.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	h := &hostClient{config: cfg, contextName: name, namespace: f.namespace, contextNamespace: raw.Contexts[name].Namespace}
	if h.contextNamespace == "" {
		h.contextNamespace = metav1.NamespaceDefault
	}
	if h.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if h.disc, err = discovery.NewDiscoveryClientForConfig(cfg); err != nil {
		return nil, err
	}
	return h, nil
}

// resolve finds the API type that arg names in the host's discovery.
func (h *hostClient) resolve(arg string) (metav1.APIResource, error) {
	groups, err := restmapper.GetAPIGroupResources(h.disc)
	if err != nil && len(groups) == 0 {
		return metav1.APIResource{}, fmt.Errorf("failed to discover the host's API types: %w", err)
	}
	return resolveType(groups, arg)
}

// typeConfigs lists the FederatedTypeConfigs of the control plane's namespace.
func (h *hostClient) typeConfigs(ctx context.Context) ([]corev1beta1.FederatedTypeConfig, error) {
	return enabledTypeConfigs(ctx, h.config, h.namespace)
}

// typeConfig reads the FederatedTypeConfig name; found is false when there is none.
func (h *hostClient) typeConfig(ctx context.Context, name string) (ftc *corev1beta1.FederatedTypeConfig, found bool, err error) {
	u, err := h.dyn.Resource(federatedTypeConfigResource).Namespace(h.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("failed to read FederatedTypeConfig %s/%s (is fedplane installed in the host?): %w", h.namespace, name, err)
	}
	ftc = &corev1beta1.FederatedTypeConfig{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ftc); err != nil {
		return nil, false, fmt.Errorf("failed to decode FederatedTypeConfig %s/%s: %w", h.namespace, name, err)
	}
	return ftc, true, nil
}

// resource returns the client of the resource gvr, in namespace when it is namespaced.
func (h *hostClient) resource(gvr schema.GroupVersionResource, namespaced bool, namespace string) dynamic.ResourceInterface {
	if namespaced {
		return h.dyn.Resource(gvr).Namespace(namespace)
	}
	return h.dyn.Resource(gvr)
}

// resolveType finds the API type that arg names, as kubectl does: a plural (deployments), a
// plural and group (deployments.apps), a fully qualified resource (deployments.v1.apps), a
// singular, a short name (deploy) or a kind (Deployment), in any case. When several groups have
// the name, the one that discovery lists first wins, as with kubectl. The result has its group
// and its preferred version set.
func resolveType(groups []*restmapper.APIGroupResources, arg string) (metav1.APIResource, error) {
	name := strings.TrimSpace(arg)
	if name == "" || strings.ContainsAny(name, "/ ") {
		return metav1.APIResource{}, fmt.Errorf("invalid TYPE %q: want a resource such as deployments, deployments.apps or Deployment", arg)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	name = expandShortName(groups, name)
	gvk, err := kindFor(mapper, groups, name)
	if err != nil {
		return metav1.APIResource{}, err
	}
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return metav1.APIResource{}, fmt.Errorf("TYPE %q: %w", arg, err)
	}
	r, ok := findResource(groups, mapping.Resource)
	if !ok {
		return metav1.APIResource{}, fmt.Errorf("TYPE %q: the host's discovery does not list %s", arg, mapping.Resource)
	}
	return r, nil
}

// kindFor maps a (short-name expanded) TYPE to a kind: as a resource first, then as a kind.
func kindFor(mapper meta.RESTMapper, groups []*restmapper.APIGroupResources, name string) (schema.GroupVersionKind, error) {
	full, gr := schema.ParseResourceArg(strings.ToLower(name))
	if full != nil {
		if gvk, err := mapper.KindFor(*full); err == nil {
			return gvk, nil
		}
	}
	gvk, err := mapper.KindFor(gr.WithVersion(""))
	if err == nil {
		return gvk, ambiguity(mapper, gr, gvk, name)
	}
	var ambiguous *meta.AmbiguousResourceError
	if errors.As(err, &ambiguous) {
		return schema.GroupVersionKind{}, fmt.Errorf("TYPE %q names several types: name one as plural.group: %w", name, err)
	}
	// A kind whose lower-case form is not the resource's singular name.
	var found []schema.GroupVersionKind
	for _, g := range groups {
		for _, r := range preferredResources(g) {
			if strings.EqualFold(r.Kind, name) {
				found = append(found, schema.GroupVersionKind{Group: g.Group.Name, Version: g.Group.PreferredVersion.Version, Kind: r.Kind})
			}
		}
	}
	if len(found) > 0 {
		return found[0], nil
	}
	return schema.GroupVersionKind{}, fmt.Errorf("the host has no API type named %q (see kubectl api-resources)", name)
}

// ambiguity refuses a name that several groups serve, unless the group that kubectl would pick
// is built into Kubernetes (deployments means deployments.apps even when a custom resource is
// also named deployments): between custom groups, the pick would be arbitrary.
func ambiguity(mapper meta.RESTMapper, gr schema.GroupResource, picked schema.GroupVersionKind, name string) error {
	if builtInGroup(picked.Group) {
		return nil
	}
	resources, err := mapper.ResourcesFor(gr.WithVersion(""))
	if err != nil {
		return nil
	}
	var names []string
	for _, r := range resources {
		if n := groupQualifiedName(r.Resource, r.Group); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) < 2 {
		return nil
	}
	sort.Strings(names)
	return fmt.Errorf("TYPE %q names several types (%s): name one as plural.group", name, strings.Join(names, ", "))
}

// builtInGroup says whether Kubernetes itself serves the group: the core group, groups without
// a dot (apps, batch, policy) and *.k8s.io. Custom resources have a dot in their group.
func builtInGroup(group string) bool {
	return !strings.Contains(group, ".") || strings.HasSuffix(group, ".k8s.io")
}

// expandShortName replaces a short name (cm, deploy, deploy.apps) by its resource and group.
func expandShortName(groups []*restmapper.APIGroupResources, name string) string {
	short, group, _ := strings.Cut(strings.ToLower(name), ".")
	for _, g := range groups {
		if group != "" && g.Group.Name != group {
			continue
		}
		for _, r := range preferredResources(g) {
			if slices.Contains(r.ShortNames, short) {
				if g.Group.Name == "" {
					return r.Name
				}
				return r.Name + "." + g.Group.Name
			}
		}
	}
	return name
}

// preferredResources are the group's resources in its preferred version, without subresources.
func preferredResources(g *restmapper.APIGroupResources) []metav1.APIResource {
	var out []metav1.APIResource
	for _, r := range g.VersionedResources[g.Group.PreferredVersion.Version] {
		if !strings.Contains(r.Name, "/") {
			out = append(out, r)
		}
	}
	return out
}

// findResource returns the discovered resource gvr, with its group and version set.
func findResource(groups []*restmapper.APIGroupResources, gvr schema.GroupVersionResource) (metav1.APIResource, bool) {
	for _, g := range groups {
		if g.Group.Name != gvr.Group {
			continue
		}
		for _, r := range g.VersionedResources[gvr.Version] {
			if r.Name == gvr.Resource {
				r.Group, r.Version = gvr.Group, gvr.Version
				return r, true
			}
		}
	}
	return metav1.APIResource{}, false
}

// groupQualifiedName is a resource's plural, then "." and its group unless it is the core group:
// the name of its FederatedTypeConfig.
func groupQualifiedName(plural, group string) string {
	if group == "" {
		return plural
	}
	return plural + "." + group
}

// targetFor is the federation target of a discovered resource, with the federated type's short
// names ("f" and each of the target's) and group and version.
func targetFor(r metav1.APIResource, federatedGroup, federatedVersion string) typegen.Target {
	t := typegen.Target{
		Group: r.Group, Version: r.Version, Kind: r.Kind, Plural: r.Name, Namespaced: r.Namespaced,
		FederatedGroup: federatedGroup, FederatedVersion: federatedVersion,
	}
	for _, s := range r.ShortNames {
		t.ShortNames = append(t.ShortNames, "f"+s)
	}
	return t
}

// federatedResource is the federated type's resource in a FederatedTypeConfig.
func federatedResource(ftc *corev1beta1.FederatedTypeConfig) schema.GroupVersionResource {
	ft := ftc.Spec.FederatedType
	return schema.GroupVersionResource{Group: ft.Group, Version: ft.Version, Resource: ft.PluralName}
}

// targetResource is the target type's resource in a FederatedTypeConfig.
func targetResource(ftc *corev1beta1.FederatedTypeConfig) schema.GroupVersionResource {
	tt := ftc.Spec.TargetType
	return schema.GroupVersionResource{Group: tt.Group, Version: tt.Version, Resource: tt.PluralName}
}

// typeConfigOf returns the FederatedTypeConfig that r is the federated type of or, failing
// that, the target type of.
func typeConfigOf(ftcs []corev1beta1.FederatedTypeConfig, r metav1.APIResource) (*corev1beta1.FederatedTypeConfig, bool) {
	for i, ftc := range ftcs {
		if ft := ftc.Spec.FederatedType; ft.Group == r.Group && ft.PluralName == r.Name {
			return &ftcs[i], true
		}
	}
	for i, ftc := range ftcs {
		if tt := ftc.Spec.TargetType; tt.Group == r.Group && tt.PluralName == r.Name {
			return &ftcs[i], true
		}
	}
	return nil, false
}

// objectNamespace is the namespace of the federated object name of the type: none for a
// cluster-scoped type; otherwise flagValue when -n was given, name itself for a
// FederatedNamespace, and the context's namespace else.
func (h *hostClient) objectNamespace(ftc *corev1beta1.FederatedTypeConfig, name, flagValue string, flagSet bool) string {
	switch {
	case ftc.Spec.FederatedType.Scope != corev1beta1.NamespaceScoped:
		return ""
	case flagSet:
		return flagValue
	case isNamespace(ftc.Spec.TargetType):
		return name
	default:
		return h.contextNamespace
	}
}

// objectRef names an object in messages: "Kind namespace/name", or "Kind name" without a
// namespace.
func objectRef(kind, namespace, name string) string {
	return kind + " " + namespacedName(namespace, name)
}

// namespacedName is "namespace/name", or "name" without a namespace.
func namespacedName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// refOf names an object in messages.
func refOf(u *unstructured.Unstructured) string {
	return objectRef(u.GetKind(), u.GetNamespace(), u.GetName())
}

// sortedTypeConfigs returns the FederatedTypeConfigs sorted by name.
func sortedTypeConfigs(ftcs []corev1beta1.FederatedTypeConfig) []corev1beta1.FederatedTypeConfig {
	out := slices.Clone(ftcs)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
