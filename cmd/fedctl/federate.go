package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/restmapper"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/autofederate"
	"github.com/fedplane/fedplane/pkg/federate/typegen"
	"github.com/fedplane/fedplane/pkg/manifests"
)

// controllerCreatedTypes are the types whose objects controllers create and which are never
// federated with a namespace's contents, even when enabled.
var controllerCreatedTypes = []string{
	"endpoints", "endpointslices.discovery.k8s.io", "events", "events.events.k8s.io",
	"propagatedversions.core.kubefed.io", "clusterpropagatedversions.core.kubefed.io",
}

// createRetry bounds how long federate retries creating an object of a type it has just
// enabled, until the host serves the type.
const createRetry = 10 * time.Second

type federateOptions struct {
	hostFlags
	namespace  string
	contents   bool
	skip       []string
	filename   string
	output     string
	enableType bool
	timeout    time.Duration
}

func newFederateCommand() *cobra.Command {
	o := &federateOptions{}
	cmd := &cobra.Command{
		Use:   "federate (TYPE NAME [-n NAMESPACE] | -f FILE)",
		Short: "Create a federated object from an object of the host",
		Long: `Create the federated object of the object NAME of type TYPE that exists in the host cluster:
same name and namespace (a FederatedNamespace goes in the namespace it federates), spec.template
the object, and spec.placement.clusterSelector {matchLabels: {}}, which selects every member
cluster (KubeFed's federate does the same). Restrict the placement afterwards, or federate with
-o yaml and edit the manifest.

The template leaves out status, apiVersion and kind, the name and namespace (the federated
object's are used), and what servers and controllers set: uid, resourceVersion, generation,
creation and deletion timestamps, managedFields, ownerReferences, finalizers, selfLink, and the
kubectl last-applied and deployment revision annotations. Labels and other annotations are kept
(template annotations are not propagated; set them with overrides). Some kinds lose the fields
that each cluster sets for itself: a Service its cluster IPs (unless headless) and node ports, a
ServiceAccount its secrets, a Namespace its spec.finalizers, a Job without manualSelector its
generated selector and controller-uid labels.

TYPE must be enabled (a FederatedTypeConfig exists), unless --enable-type is given, which enables
it first, as fedctl enable does. The federated object is created with server-side apply; when it
exists already, federate says so and leaves it unchanged.

--contents, with a Namespace, also federates every object in that namespace whose type is
enabled (propagation Enabled). It skips objects that are federated already and objects that
something else manages: those with a controller owner reference (ReplicaSets of a Deployment),
those propagated by a control plane (label kubefed.io/managed=true), those being deleted, the
kube-root-ca.crt ConfigMap, the default ServiceAccount, service account token Secrets, and every
object of types that controllers create (endpoints, endpoint slices, events, propagated versions).

--skip-api-resources (-s) leaves types out of --contents: each value (comma-separated, or the
flag repeated) is a plural, singular, kind, short name or plural.group of a type, or an API group,
which leaves out every type of that group, in any case; as kubefedctl's flag.

-o yaml prints the federated objects instead of creating them, without checking whether they
exist; the type need not be enabled then.

-f FILE (- for standard input) federates the objects of a manifest instead, as kubefedctl
federate --filename does: it needs no cluster, reads every document (and the items of List
documents), and prints the federated objects as YAML, creating nothing. The federated type of a
default type (deployments, configmaps, ...) is the default one; for any other, it is what fedctl
enable would generate, the plural guessed from the kind, and the object namespaced when it has a
namespace. -n gives a namespace to the objects of namespaced default types that have none.`,
		Example: `  # Federate the Deployment web of namespace shop to every member cluster.
  fedctl federate deployments.apps web -n shop

  # Federate the namespace shop and everything in it.
  fedctl federate namespaces shop --contents

  # Print the FederatedConfigMap of a ConfigMap, to edit its placement before applying it.
  fedctl federate configmaps settings -n shop -o yaml

  # Federate a namespace without its Secrets and anything of group batch.
  fedctl federate namespaces shop --contents --skip-api-resources secrets,batch

  # Federate the objects of a manifest, offline.
  fedctl federate -f deployment.yaml > federateddeployment.yaml
  kubectl get deployment web -n shop -o yaml | fedctl federate -f -`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.filename != "" {
				if len(args) > 0 {
					return fmt.Errorf("--filename takes no TYPE NAME arguments, got %q", args)
				}
				return nil
			}
			return cobra.ExactArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.filename != "" {
				return o.runFile(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.Flags().Changed("namespace"))
			}
			return o.run(cmd.Context(), args[0], args[1], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "", "namespace of the object; empty means the namespace of the kubeconfig context")
	cmd.Flags().BoolVarP(&o.contents, "contents", "c", false, "with a Namespace, also federate the objects of every enabled type in it")
	cmd.Flags().StringSliceVarP(&o.skip, "skip-api-resources", "s", nil, "with --contents, the types to leave out, comma-separated or repeated: a plural, singular, kind, short name or plural.group, or a group to leave out all its types")
	cmd.Flags().StringVarP(&o.filename, "filename", "f", "", "federate the objects of this manifest file (- for standard input) instead of TYPE NAME, printing the federated objects as YAML; needs no cluster")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "print the federated objects in this format (yaml) instead of creating them")
	cmd.Flags().BoolVarP(&o.enableType, "enable-type", "t", false, "enable the federation of TYPE first when it is not enabled")
	cmd.Flags().DurationVar(&o.timeout, "timeout", time.Minute, "how long to wait for the host (and to enable the type)")
	return cmd
}

// federation is one object to federate: its type's FederatedTypeConfig, the object, and the
// federated object built from it.
type federation struct {
	ftc       *corev1beta1.FederatedTypeConfig
	target    *unstructured.Unstructured
	federated *unstructured.Unstructured
}

func (o *federateOptions) run(ctx context.Context, typeArg, name string, out, errOut io.Writer) error {
	switch {
	case o.output != "" && o.output != "yaml":
		return fmt.Errorf("invalid --output %q: the only format is yaml", o.output)
	case o.output != "" && o.enableType:
		return errors.New("--enable-type writes to the host and cannot go with --output")
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
	if o.contents && !contract.IsNamespace(r.Group, r.Kind) {
		return fmt.Errorf("--contents goes with TYPE namespaces only, not %s", groupQualifiedName(r.Name, r.Group))
	}
	ftc, enabledNow, err := o.typeConfigFor(ctx, h, r, out, errOut)
	if err != nil {
		return err
	}
	if ftc.Spec.Propagation == corev1beta1.PropagationDisabled {
		fmt.Fprintf(errOut, "note: the propagation of %s is Disabled; its federated objects are propagated once it is enabled again\n", ftc.Name)
	}
	namespace := ""
	if r.Namespaced {
		if namespace = o.namespace; namespace == "" {
			namespace = h.contextNamespace
		}
	}
	obj, err := h.resource(targetResource(ftc), r.Namespaced, namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s not found in the host (TYPE %s, NAME %s)", objectRef(ftc.Spec.TargetType.Kind, namespace, name), typeArg, name)
	} else if err != nil {
		return fmt.Errorf("failed to read %s: %w", objectRef(ftc.Spec.TargetType.Kind, namespace, name), err)
	}
	fed, err := autofederate.FederatedObject(ftc, obj)
	if err != nil {
		return err
	}
	work := []federation{{ftc: ftc, target: obj, federated: fed}}
	if o.contents {
		contents, err := h.namespaceContents(ctx, name, o.skip, o.output == "", errOut)
		if err != nil {
			return err
		}
		work = append(work, contents...)
	}
	if o.output == "yaml" {
		objs := make([]any, 0, len(work))
		for _, w := range work {
			objs = append(objs, w.federated.Object)
		}
		return writeManifests(out, objs...)
	}
	var errs []error
	for _, w := range work {
		noteAnnotations(errOut, w)
		if err := h.createFederated(ctx, w, enabledNow, out); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runFile federates the objects of --filename offline and prints the federated objects as
// YAML, as kubefedctl federate --filename does.
func (o *federateOptions) runFile(stdin io.Reader, out io.Writer, namespaceSet bool) error {
	switch {
	case o.output != "" && o.output != "yaml":
		return fmt.Errorf("invalid --output %q: the only format is yaml", o.output)
	case o.contents, o.enableType, len(o.skip) > 0:
		return errors.New("--filename federates the objects of the file only, offline: it does not go with --contents, --skip-api-resources or --enable-type")
	}
	objs, err := manifests.LoadFrom(stdin, o.filename)
	if err != nil {
		return err
	}
	fed := make([]any, 0, len(objs))
	for _, obj := range objs {
		u := obj.Object
		if u.GetName() == "" {
			return fmt.Errorf("%s: %s has no metadata.name", obj.Source(), u.GetKind())
		}
		ftc, err := fileTypeConfig(u)
		if err != nil {
			return fmt.Errorf("%s: %w", obj.Source(), err)
		}
		if ftc.Spec.TargetType.Scope == corev1beta1.NamespaceScoped && u.GetNamespace() == "" {
			if !namespaceSet {
				return fmt.Errorf("%s: %s %s has no metadata.namespace: give one with -n", obj.Source(), u.GetKind(), u.GetName())
			}
			u.SetNamespace(o.namespace)
		}
		f, err := autofederate.FederatedObject(ftc, u)
		if err != nil {
			return fmt.Errorf("%s: %w", obj.Source(), err)
		}
		fed = append(fed, f.Object)
	}
	return writeManifests(out, fed...)
}

// fileTypeConfig is the FederatedTypeConfig of an object read from a file, without a cluster:
// the default one of its kind when there is one (with the object's version), otherwise the one
// fedctl enable would generate, with the plural guessed from the kind and the object namespaced
// when it has a namespace (runFile's -n applies to the namespaced default types only, whose
// scope is known).
func fileTypeConfig(u *unstructured.Unstructured) (*corev1beta1.FederatedTypeConfig, error) {
	gvk := u.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, errors.New("apiVersion and kind are required")
	}
	if slices.Contains(federationGroups, gvk.Group) {
		return nil, fmt.Errorf("%s belongs to the federation API and cannot itself be federated", gvk.GroupKind())
	}
	for _, t := range typegen.DefaultTargets() {
		if t.Group == gvk.Group && t.Kind == gvk.Kind {
			t.Version = gvk.Version
			return t.TypeConfig(corev1beta1.DefaultNamespace), nil
		}
	}
	plural, _ := meta.UnsafeGuessKindToResource(gvk)
	t := typegen.Target{
		Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Plural: plural.Resource, Namespaced: u.GetNamespace() != "",
		FederatedGroup: defaultFederatedGroup, FederatedVersion: defaultFederatedVersion,
	}
	return t.TypeConfig(corev1beta1.DefaultNamespace), nil
}

// typeConfigFor returns the FederatedTypeConfig of the type: the host's, one that --enable-type
// has just installed (enabledNow), or, for -o yaml, the one enable would generate.
func (o *federateOptions) typeConfigFor(ctx context.Context, h *hostClient, r metav1.APIResource, out, errOut io.Writer) (ftc *corev1beta1.FederatedTypeConfig, enabledNow bool, err error) {
	name := groupQualifiedName(r.Name, r.Group)
	ftc, found, err := h.typeConfig(ctx, name)
	if err != nil && o.output == "" {
		return nil, false, err
	}
	if found {
		return ftc, false, nil
	}
	enable := enableFlags{federatedGroup: defaultFederatedGroup, federatedVersion: defaultFederatedVersion}
	target, err := enable.target(r)
	if err != nil {
		return nil, false, err
	}
	switch {
	case o.output != "":
		fmt.Fprintf(errOut, "note: %s is not enabled; the federated objects are printed as fedctl enable %s would define their type\n", name, name)
		return target.TypeConfig(h.namespace), false, nil
	case !o.enableType:
		return nil, false, fmt.Errorf("%s is not enabled: there is no FederatedTypeConfig %s/%s (run fedctl enable %s, or pass --enable-type)", name, h.namespace, name, name)
	}
	crd, ftc, err := h.generate(ctx, target)
	if err != nil {
		return nil, false, err
	}
	if err := h.install(ctx, crd, ftc, false, out); err != nil {
		return nil, false, err
	}
	return ftc, true, nil
}

func isNamespace(t corev1beta1.APIResource) bool { return contract.IsNamespace(t.Group, t.Kind) }

// skipReason says why an object of a namespace is not federated with its contents, or "" when
// it is.
func skipReason(ftc *corev1beta1.FederatedTypeConfig, obj *unstructured.Unstructured) string {
	target := ftc.Spec.TargetType
	for _, o := range obj.GetOwnerReferences() {
		if o.Controller != nil && *o.Controller {
			return fmt.Sprintf("managed by its owner %s %s", o.Kind, o.Name)
		}
	}
	switch {
	case obj.GetDeletionTimestamp() != nil:
		return "being deleted"
	case obj.GetLabels()[contract.ManagedLabel] == contract.ManagedLabelValue:
		return "propagated by a control plane (" + contract.ManagedLabel + "=" + contract.ManagedLabelValue + ")"
	case target.Group == "" && target.Kind == "ConfigMap" && obj.GetName() == "kube-root-ca.crt":
		return "published by Kubernetes in every namespace"
	case target.Group == "" && target.Kind == "ServiceAccount" && obj.GetName() == "default":
		return "created by Kubernetes in every namespace"
	}
	if target.Group == "" && target.Kind == "Secret" {
		if typ, _, _ := unstructured.NestedString(obj.Object, "type"); typ == string(corev1.SecretTypeServiceAccountToken) {
			return "a service account token, filled in by Kubernetes"
		}
	}
	return ""
}

// namespaceContents lists the objects of every enabled namespaced type in the namespace, and
// builds their federated objects. Objects that are skipped are reported to errOut; objects
// federated already are skipped only when checkExisting is set.
func (h *hostClient) namespaceContents(ctx context.Context, namespace string, skip []string, checkExisting bool, errOut io.Writer) ([]federation, error) {
	ftcs, err := h.typeConfigs(ctx)
	if err != nil {
		return nil, err
	}
	var groups []*restmapper.APIGroupResources
	if len(skip) > 0 {
		// Discovery gives the short and singular names that --skip-api-resources may use.
		if groups, err = restmapper.GetAPIGroupResources(h.disc); err != nil && len(groups) == 0 {
			return nil, fmt.Errorf("failed to discover the host's API types: %w", err)
		}
	}
	var work []federation
	for _, ftc := range sortedTypeConfigs(ftcs) {
		if ftc.Spec.Propagation != corev1beta1.PropagationEnabled || ftc.Spec.TargetType.Scope != corev1beta1.NamespaceScoped ||
			slices.Contains(controllerCreatedTypes, ftc.Name) {
			continue
		}
		if name, ok := skippedBy(skip, discoveredTarget(groups, &ftc)); ok {
			fmt.Fprintf(errOut, "skipped every %s: --skip-api-resources names %s\n", ftc.Spec.TargetType.Kind, name)
			continue
		}
		list, err := h.resource(targetResource(&ftc), true, namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("failed to list the %s objects of namespace %s (FederatedTypeConfig %s): %w", ftc.Spec.TargetType.Kind, namespace, ftc.Name, err)
		}
		sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].GetName() < list.Items[j].GetName() })
		for i := range list.Items {
			obj := &list.Items[i]
			if reason := skipReason(&ftc, obj); reason != "" {
				fmt.Fprintf(errOut, "skipped %s: %s\n", refOf(obj), reason)
				continue
			}
			fed, err := autofederate.FederatedObject(&ftc, obj)
			if err != nil {
				return nil, err
			}
			if checkExisting {
				_, err := h.resource(federatedResource(&ftc), true, fed.GetNamespace()).Get(ctx, fed.GetName(), metav1.GetOptions{})
				if err == nil {
					fmt.Fprintf(errOut, "skipped %s: federated already by %s\n", refOf(obj), refOf(fed))
					continue
				}
			}
			work = append(work, federation{ftc: &ftc, target: obj, federated: fed})
		}
	}
	return work, nil
}

// createFederated creates the federated object with server-side apply, unless it exists.
// After the type was just enabled, a type that is not served yet is retried for a while.
func (h *hostClient) createFederated(ctx context.Context, w federation, retry bool, out io.Writer) error {
	fed := w.federated
	rc := h.resource(federatedResource(w.ftc), fed.GetNamespace() != "", fed.GetNamespace())
	if _, err := rc.Get(ctx, fed.GetName(), metav1.GetOptions{}); err == nil {
		fmt.Fprintf(out, "%s exists already: left unchanged\n", refOf(fed))
		return nil
	}
	apply := func(ctx context.Context) (bool, error) {
		_, err := rc.Apply(ctx, fed.GetName(), fed, metav1.ApplyOptions{FieldManager: fieldManager})
		if retry && apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	}
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, createRetry, true, apply); err != nil {
		return fmt.Errorf("failed to create %s from %s: %w", refOf(fed), refOf(w.target), err)
	}
	fmt.Fprintf(out, "%s created from %s\n", refOf(fed), refOf(w.target))
	return nil
}

// noteAnnotations tells that the template's annotations are kept but not propagated.
func noteAnnotations(errOut io.Writer, w federation) {
	if a, _, _ := unstructured.NestedStringMap(w.federated.Object, "spec", "template", "metadata", "annotations"); len(a) > 0 {
		fmt.Fprintf(errOut, "note: the template of %s keeps the annotations of %s, which are not propagated; set annotations with overrides\n", refOf(w.federated), refOf(w.target))
	}
}

// discoveredTarget is the target type of ftc as the host's discovery lists it, with its short
// and singular names; from the FederatedTypeConfig alone when discovery does not list it.
func discoveredTarget(groups []*restmapper.APIGroupResources, ftc *corev1beta1.FederatedTypeConfig) metav1.APIResource {
	if r, ok := findResource(groups, targetResource(ftc)); ok {
		return r
	}
	tt := ftc.Spec.TargetType
	return metav1.APIResource{Group: tt.Group, Version: tt.Version, Name: tt.PluralName, Kind: tt.Kind}
}

// skippedBy returns the first name of skip (the values of --skip-api-resources) that names the
// type r, in any case: its group (which leaves out every type of the group; the core group has
// no name), its plural, its singular, its kind, one of its short names, or plural.group.
func skippedBy(skip []string, r metav1.APIResource) (string, bool) {
	for _, name := range skip {
		n := strings.ToLower(strings.TrimSpace(name))
		if n == "" {
			continue
		}
		if (r.Group != "" && n == strings.ToLower(r.Group)) || n == r.Name || n == strings.ToLower(r.SingularName) ||
			n == strings.ToLower(r.Kind) || n == groupQualifiedName(r.Name, r.Group) || slices.Contains(lowered(r.ShortNames), n) {
			return name, true
		}
	}
	return "", false
}

func lowered(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, strings.ToLower(n))
	}
	return out
}
