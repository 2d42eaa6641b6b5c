package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/config"
	"github.com/fedplane/fedplane/pkg/federate/typegen"
)

var crdResource = apiextv1.SchemeGroupVersion.WithResource("customresourcedefinitions")

// The federated type's group and version unless --federated-group and --federated-version say
// otherwise.
var (
	defaultFederatedGroup   = typesv1beta1.GroupVersion.Group
	defaultFederatedVersion = typesv1beta1.GroupVersion.Version
)

// federationGroups are the groups of the federation API itself, whose types are not federated.
var federationGroups = []string{corev1beta1.GroupVersion.Group, typesv1beta1.GroupVersion.Group, "scheduling.kubefed.io"}

// requiredVerbs are what fed-controller does with objects of a target type in member clusters.
var requiredVerbs = []string{"get", "list", "watch", "create", "patch", "delete"}

// openAPIWait bounds how long enable waits for the host to publish a type's OpenAPI schema,
// which lags a little behind a CRD that was just created.
const openAPIWait = 15 * time.Second

// enableFlags configure what enable generates and how it installs it.
type enableFlags struct {
	federatedGroup   string
	federatedVersion string
	dryRun           bool
	timeout          time.Duration
}

type enableOptions struct {
	hostFlags
	enableFlags
	output string
}

func newEnableCommand() *cobra.Command {
	o := &enableOptions{}
	cmd := &cobra.Command{
		Use:   "enable TYPE",
		Short: "Enable the federation of an API type, built-in or custom",
		Long: `Enable the federation of the API type TYPE in the host cluster: generate the CRD of its
federated type (Federated<Kind>, whose spec.template has the structural schema of TYPE, taken from
the host's OpenAPI v3 schemas), and the FederatedTypeConfig that ties both types together, then
install them with server-side apply and wait until the CRD is established.

TYPE is a resource as kubectl names it: a plural (deployments), a plural and group
(deployments.apps, widgets.example.com), a short name (deploy) or a kind (Deployment). Custom
resources work the same way as built-in ones.

The FederatedTypeConfig is named after the plural and group of TYPE (plural only for the core
group) and lives in the control plane's namespace, with propagation Enabled. The federated type
is in group types.kubefed.io, version v1beta1, unless --federated-group and --federated-version
say otherwise: two target types with the same plural (deployments.apps and
deployments.example.com) need different federated groups.

enable can be run again: it applies the same objects, so it also enables a type again after
fedctl disable, and refreshes the template schema after the target type changed. It refuses to
change the federated type of a type that is already enabled.

Members need the target type too: the API type must be installed in every member cluster. After
enabling a type, run fedctl join again for each member, so that its role covers the new type.`,
		Example: `  # Federate LimitRanges, and Widgets of a custom resource.
  fedctl enable limitranges
  fedctl enable widgets.example.com

  # Print the CRD and the FederatedTypeConfig instead of installing them.
  fedctl enable poddisruptionbudgets.policy -o yaml

  # A second "deployments" type needs a federated group of its own.
  fedctl enable deployments.example.com --federated-group federation.example.com`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args[0], cmd.OutOrStdout())
		},
	}
	o.hostFlags.bind(cmd)
	o.enableFlags.bind(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "print the CRD and the FederatedTypeConfig in this format (yaml) instead of installing them")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "have the host check both objects with a server-side dry run, writing nothing")
	return cmd
}

func (f *enableFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.federatedGroup, "federated-group", defaultFederatedGroup, "API group of the federated type")
	cmd.Flags().StringVar(&f.federatedVersion, "federated-version", defaultFederatedVersion, "API version of the federated type")
	cmd.Flags().DurationVar(&f.timeout, "timeout", time.Minute, "how long to wait for the host, its OpenAPI schema of the type, and the CRD to be established")
}

// validate checks the flags before anything is read or written.
func (f *enableFlags) validate() error {
	if errs := validation.IsDNS1123Subdomain(f.federatedGroup); len(errs) > 0 || !strings.Contains(f.federatedGroup, ".") {
		return fmt.Errorf("invalid --federated-group %q: want a DNS subdomain with a dot, such as types.kubefed.io", f.federatedGroup)
	}
	if slices.Contains([]string{corev1beta1.GroupVersion.Group, "scheduling.kubefed.io"}, f.federatedGroup) {
		return fmt.Errorf("invalid --federated-group %q: the group belongs to the federation API", f.federatedGroup)
	}
	if errs := validation.IsDNS1035Label(f.federatedVersion); len(errs) > 0 {
		return fmt.Errorf("invalid --federated-version %q: %s", f.federatedVersion, strings.Join(errs, "; "))
	}
	return nil
}

func (o *enableOptions) run(ctx context.Context, typeArg string, out io.Writer) error {
	if o.output != "" && o.output != "yaml" {
		return fmt.Errorf("invalid --output %q: the only format is yaml", o.output)
	}
	if err := o.validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	h, err := o.connect()
	if err != nil {
		return err
	}
	r, err := h.resolve(typeArg)
	if err != nil {
		return err
	}
	target, err := o.target(r)
	if err != nil {
		return err
	}
	crd, ftc, err := h.generate(ctx, target)
	if err != nil {
		return err
	}
	if o.output == "yaml" {
		return writeManifests(out, crd, ftc)
	}
	return h.install(ctx, crd, ftc, o.dryRun, out)
}

// target checks that the discovered resource can be federated and returns its target.
func (f *enableFlags) target(r metav1.APIResource) (typegen.Target, error) {
	name := groupQualifiedName(r.Name, r.Group)
	if slices.Contains(federationGroups, r.Group) || r.Group == f.federatedGroup {
		return typegen.Target{}, fmt.Errorf("%s belongs to the federation API and cannot itself be federated", name)
	}
	var missing []string
	for _, v := range requiredVerbs {
		if !slices.Contains(r.Verbs, v) {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		return typegen.Target{}, fmt.Errorf("%s cannot be federated: it does not support %s", name, strings.Join(missing, ", "))
	}
	return targetFor(r, f.federatedGroup, f.federatedVersion), nil
}

// generate builds the federated type's CRD, from the target's OpenAPI v3 schema in the host,
// and its FederatedTypeConfig.
func (h *hostClient) generate(ctx context.Context, t typegen.Target) (*apiextv1.CustomResourceDefinition, *corev1beta1.FederatedTypeConfig, error) {
	data, err := config.Manifests.ReadFile(config.FederatedBaseCRD)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to read the federated base CRD: %w", err)
	}
	base, err := typegen.ParseBaseCRD(data)
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := h.templateSchema(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	return typegen.CRD(base, t, tmpl), t.TypeConfig(h.namespace), nil
}

// templateSchema fetches the target's OpenAPI v3 document from the host and converts its schema.
// A CRD's schema is published shortly after the CRD is established, so a missing document or
// kind is asked for again for a while.
func (h *hostClient) templateSchema(ctx context.Context, t typegen.Target) (*apiextv1.JSONSchemaProps, error) {
	var tmpl *apiextv1.JSONSchemaProps
	var last error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, openAPIWait, true, func(context.Context) (bool, error) {
		paths, err := h.disc.OpenAPIV3().Paths()
		if err != nil {
			last = fmt.Errorf("failed to list the host's OpenAPI v3 documents: %w", err)
			return false, nil
		}
		gv, ok := paths[t.OpenAPIPath()]
		if !ok {
			last = fmt.Errorf("the host publishes no OpenAPI v3 document at /openapi/v3/%s", t.OpenAPIPath())
			return false, nil
		}
		raw, err := gv.Schema("application/json")
		if err != nil {
			last = fmt.Errorf("failed to fetch /openapi/v3/%s: %w", t.OpenAPIPath(), err)
			return false, nil
		}
		var doc typegen.Document
		if err := json.Unmarshal(raw, &doc); err != nil {
			return false, fmt.Errorf("failed to decode /openapi/v3/%s: %w", t.OpenAPIPath(), err)
		}
		if _, err := doc.FindKind(t.Group, t.Version, t.Kind); err != nil {
			last = err
			return false, nil
		}
		tmpl, err = typegen.TemplateSchema(doc, t)
		return true, err
	})
	if err != nil {
		if last != nil && wait.Interrupted(err) {
			err = last
		}
		return nil, fmt.Errorf("no template schema for %s: %w", t.TypeConfigName(), err)
	}
	return tmpl, nil
}

// writeManifests prints the objects as one multi-document YAML manifest.
func writeManifests(out io.Writer, objs ...any) error {
	for _, obj := range objs {
		b, err := typegen.MarshalYAML(obj)
		if err != nil {
			return fmt.Errorf("failed to encode %T: %w", obj, err)
		}
		if _, err := fmt.Fprintf(out, "---\n%s", b); err != nil {
			return err
		}
	}
	return nil
}

// install applies the CRD, waits until it is established, then applies the FederatedTypeConfig.
func (h *hostClient) install(ctx context.Context, crd *apiextv1.CustomResourceDefinition, ftc *corev1beta1.FederatedTypeConfig, dryRun bool, out io.Writer) error {
	say := func(format string, args ...any) {
		if dryRun {
			format = "(dry run) " + format
		}
		_, _ = fmt.Fprintf(out, format+"\n", args...)
	}
	if _, err := h.dyn.Resource(namespaceResource).Get(ctx, h.namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return fmt.Errorf("the host has no namespace %s: install fedplane first (make install), or name its namespace with --kubefed-namespace", h.namespace)
	} else if err != nil {
		return fmt.Errorf("failed to read namespace %s: %w", h.namespace, err)
	}
	if err := h.checkConflicts(ctx, crd, ftc); err != nil {
		return err
	}
	apply := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	if dryRun {
		apply.DryRun = []string{metav1.DryRunAll}
	}
	u, err := applyObject(crd)
	if err != nil {
		return err
	}
	if _, err := h.dyn.Resource(crdResource).Apply(ctx, crd.Name, u, apply); err != nil {
		return fmt.Errorf("failed to apply CustomResourceDefinition %s: %w", crd.Name, err)
	}
	if !dryRun {
		if err := waitEstablished(ctx, h, crd.Name); err != nil {
			return err
		}
	}
	say("CustomResourceDefinition %s applied (%s, %s)", crd.Name, crd.Spec.Names.Kind, crd.Spec.Scope)
	if u, err = applyObject(ftc); err != nil {
		return err
	}
	if _, err := h.dyn.Resource(federatedTypeConfigResource).Namespace(h.namespace).Apply(ctx, ftc.Name, u, apply); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to apply FederatedTypeConfig %s/%s: the host does not serve FederatedTypeConfigs (install fedplane first: make install): %w", h.namespace, ftc.Name, err)
		}
		return fmt.Errorf("failed to apply FederatedTypeConfig %s/%s: %w", h.namespace, ftc.Name, err)
	}
	say("FederatedTypeConfig %s/%s applied: %s propagated as %s", h.namespace, ftc.Name, ftc.Spec.TargetType.Kind, ftc.Spec.FederatedType.Kind)
	if !dryRun {
		say("Federation of %s enabled. Run fedctl join again for each member, so that its role covers the type.", ftc.Name)
		if rules, _ := delegationRules([]corev1beta1.FederatedTypeConfig{*ftc}); len(rules) > 0 {
			say("Until then, members refuse the %s objects that grant more than their joined role holds: join also grants %s for this type.",
				ftc.Spec.TargetType.Kind, describeVerbs(rules))
		}
	}
	return nil
}

// checkConflicts refuses to change the federated type of an enabled type, and to take over a
// federated CRD that another FederatedTypeConfig uses.
func (h *hostClient) checkConflicts(ctx context.Context, crd *apiextv1.CustomResourceDefinition, ftc *corev1beta1.FederatedTypeConfig) error {
	ftcs, err := h.typeConfigs(ctx)
	if err != nil {
		return err
	}
	want := ftc.Spec.FederatedType
	for _, other := range ftcs {
		if have := other.Spec.FederatedType; other.Name == ftc.Name && (have.Group != want.Group || have.Version != want.Version || have.PluralName != want.PluralName) {
			return fmt.Errorf("FederatedTypeConfig %s/%s has spec.federatedType %s/%s; changing it to %s/%s is not supported (run fedctl disable %s --delete-crd first)",
				h.namespace, other.Name, groupQualifiedName(have.PluralName, have.Group), have.Version, groupQualifiedName(want.PluralName, want.Group), want.Version, other.Name)
		}
	}
	for _, other := range ftcs {
		if have := other.Spec.FederatedType; other.Name != ftc.Name && groupQualifiedName(have.PluralName, have.Group) == crd.Name {
			return fmt.Errorf("CustomResourceDefinition %s is the federated type of FederatedTypeConfig %s/%s already; enable %s with another --federated-group",
				crd.Name, h.namespace, other.Name, ftc.Name)
		}
	}
	return nil
}

var namespaceResource = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// waitEstablished waits until the CRD is established, bounded by ctx.
func waitEstablished(ctx context.Context, h *hostClient, name string) error {
	var reason string
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		u, err := h.dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			reason = err.Error()
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == string(apiextv1.Established) && m["status"] == string(apiextv1.ConditionTrue) {
				return true, nil
			}
			if m["status"] != string(apiextv1.ConditionTrue) && m["message"] != nil {
				reason = fmt.Sprintf("%v: %v", m["type"], m["message"])
			}
		}
		return false, nil
	})
	if err != nil {
		if reason != "" {
			reason = " (" + reason + ")"
		}
		return fmt.Errorf("CustomResourceDefinition %s was not established in time%s: %w", name, reason, err)
	}
	return nil
}
