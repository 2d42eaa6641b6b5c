package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/federate/typegen"
	"github.com/fedplane/fedplane/pkg/manifests"
	"github.com/fedplane/fedplane/pkg/placement"
	"github.com/fedplane/fedplane/pkg/plan"
)

type planOptions struct {
	files  []string
	output string
	// controlPlaneID is the id the objects are rendered for; empty means the UID of the
	// namespace named namespace, when the input holds it.
	controlPlaneID, namespace string
}

func newPlanCommand() *cobra.Command {
	o := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan -f PATH [-f PATH ...] [-o table|yaml|json] [--control-plane-id ID]",
		Short: "Preview, offline, what every member cluster would receive",
		Long: `Preview, without any cluster, what every member cluster would receive.

plan reads KubeFedCluster, FederatedTypeConfig, FederatedNamespace, Federated* and
ReplicaSchedulingPreference manifests from files, directories and standard input (-f -; other
kinds are ignored), checks them as the API server would at kubectl apply time, and prints for
every federated object and every cluster whether the cluster is selected and why, the replicas
when a ReplicaSchedulingPreference governs the object, and the object the cluster would receive
after its overrides, exactly as fed-controller renders it for a cluster that has no copy yet:
with the managed label and the control plane's annotations (fedplane.io/control-plane-id,
fedplane.io/cluster and the fedplane.io/applied hash).

The control-plane id is --control-plane-id. As with fed-controller, empty means the UID of the
namespace --kubefed-namespace, which plan finds when the input holds that Namespace (kubectl get
namespaces lists it); without it, the objects lack the id and the hash, and the plan warns.

A KubeFedCluster counts as Ready when its Ready condition is True, or when it has no status at
all. The ten default federated types are known; pass the FederatedTypeConfig of any other.

A document may be a list (kind: List with items, as kubectl get -o yaml prints): its items are
read as if each were a document. So a live host can be previewed with
  kubectl get namespaces,kubefedclusters,federatedtypeconfigs,federatednamespaces,federateddeployments,\
    replicaschedulingpreferences -A -o yaml | fedctl plan -f -

The JSON form (-o json) is a stable contract:
  {"warnings": [{"reason", "message"}],
   "items": [{"apiVersion", "kind", "namespace", "name",
              "clusters": [{"name", "selected", "reason", "replicas", "object"}],
              "errors": [{"cluster", "message"}],
              "warnings": [{"cluster", "reason", "message"}]}]}
Items are sorted by kind, namespace and name; clusters by name. "replicas" is present only for
objects that a ReplicaSchedulingPreference governs, "object" only for selected clusters, and
"cluster" only for errors that concern one cluster. An item's warnings are what rendering dropped
from the template (reason AnnotationsNotSupported or FinalizersNotSupported), as fed-controller
tells them in the object's status; the top-level warnings, present only when there are any,
concern the whole plan (ControlPlaneIDUnknown).`,
		Example: `  fedctl plan -f manifests/ -f clusters.yaml
  fedctl plan -f federateddeployment.yaml -f clusters.yaml -o json --control-plane-id fedplane-a
  kubectl get kubefedclusters,federateddeployments -A -o yaml | fedctl plan -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringArrayVarP(&o.files, "filename", "f", nil, "a manifest file, a directory of them (.yaml, .yml, .json), or - for standard input; repeatable")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table, yaml or json")
	cmd.Flags().StringVar(&o.controlPlaneID, "control-plane-id", "", "id of the control plane that writes the member objects, as fed-controller's flag; empty means the UID of the --kubefed-namespace namespace, when the input holds it")
	cmd.Flags().StringVar(&o.namespace, "kubefed-namespace", corev1beta1.DefaultNamespace, "namespace of the control plane, whose UID is the default control-plane id")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func (o *planOptions) run(ctx context.Context, stdin io.Reader, out io.Writer) error {
	switch o.output {
	case "table", "yaml", "json":
	default:
		return fmt.Errorf("unknown output format %q: use table, yaml or json", o.output)
	}
	objs, err := manifests.LoadFrom(stdin, o.files...)
	if err != nil {
		return err
	}
	in, err := readInput(ctx, objs)
	if err != nil {
		return err
	}
	in.ControlPlaneID = o.controlPlaneID
	if in.ControlPlaneID == "" {
		in.ControlPlaneID = namespaceUID(objs, o.namespace)
	}
	p := plan.Compute(in)
	switch o.output {
	case "json":
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	case "yaml":
		b, err := yaml.Marshal(p)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	default:
		return printTable(out, p)
	}
}

// readInput validates the objects as the API server would and sorts them into a plan input.
// Every problem is reported, each with its file and field.
func readInput(ctx context.Context, objs []manifests.Object) (plan.Input, error) {
	in := plan.Input{Types: map[string]plan.TargetType{}}
	for _, t := range typegen.DefaultTargets() {
		in.Types[t.FederatedKind()] = plan.TargetType{APIVersion: t.GroupVersion(), Kind: t.Kind, Namespaced: t.Namespaced}
	}
	validator, err := manifests.NewValidator()
	if err != nil {
		return in, err
	}
	var problems []string
	report := func(o manifests.Object, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s: %s %s: %s", o.Source(), o.Object.GetKind(), qualifiedName(o.Object), fmt.Sprintf(format, args...)))
	}
	seen := map[string]string{}
	for _, o := range objs {
		gvk := o.Object.GroupVersionKind()
		if !validator.Knows(gvk) {
			continue
		}
		key := gvk.String() + " " + qualifiedName(o.Object)
		if first, dup := seen[key]; dup {
			report(o, "also defined in %s", first)
			continue
		}
		seen[key] = o.Source()
		if errs := validator.Validate(ctx, o.Object); len(errs) > 0 {
			for _, e := range errs {
				report(o, "%s", e.Error())
			}
			continue
		}
		switch {
		case gvk == corev1beta1.GroupVersion.WithKind("KubeFedCluster"):
			var c corev1beta1.KubeFedCluster
			if err := fromUnstructured(o.Object, &c); err != nil {
				report(o, "%v", err)
				continue
			}
			in.Clusters = append(in.Clusters, placement.Cluster{Name: c.Name, Labels: c.Labels, Ready: clusterReady(c.Status)})
		case gvk == corev1beta1.GroupVersion.WithKind("FederatedTypeConfig"):
			var ftc corev1beta1.FederatedTypeConfig
			if err := fromUnstructured(o.Object, &ftc); err != nil {
				report(o, "%v", err)
				continue
			}
			t := ftc.Spec.TargetType
			apiVersion := t.Version
			if t.Group != "" {
				apiVersion = t.Group + "/" + t.Version
			}
			in.Types[ftc.Spec.FederatedType.Kind] = plan.TargetType{APIVersion: apiVersion, Kind: t.Kind, Namespaced: t.Scope == corev1beta1.NamespaceScoped}
		case gvk == schedulingv1alpha1.GroupVersion.WithKind("ReplicaSchedulingPreference"):
			var rsp schedulingv1alpha1.ReplicaSchedulingPreference
			if err := fromUnstructured(o.Object, &rsp); err != nil {
				report(o, "%v", err)
				continue
			}
			in.Preferences = append(in.Preferences, rsp)
		case gvk.GroupVersion() == typesv1beta1.GroupVersion:
			in.Objects = append(in.Objects, o.Object)
		}
	}
	if len(problems) > 0 {
		return in, errors.New("invalid input:\n  " + strings.Join(problems, "\n  "))
	}
	return in, nil
}

// namespaceUID is the UID of the Namespace name in objs, as fed-controller reads its default
// control-plane id from the host; empty when objs do not hold it.
func namespaceUID(objs []manifests.Object, name string) string {
	for _, o := range objs {
		if o.Object.GroupVersionKind() == corev1.SchemeGroupVersion.WithKind("Namespace") && o.Object.GetName() == name {
			return string(o.Object.GetUID())
		}
	}
	return ""
}

func fromUnstructured(u *unstructured.Unstructured, into any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		return fmt.Errorf("failed to decode: %w", err)
	}
	return nil
}

// clusterReady reads a KubeFedCluster's readiness: its Ready condition, or Ready when it has
// no status at all (a manifest written by hand for a preview).
func clusterReady(s corev1beta1.KubeFedClusterStatus) bool {
	return len(s.Conditions) == 0 || cluster.IsReady(s)
}

func qualifiedName(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

func printTable(out io.Writer, p plan.Plan) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for i, item := range p.Items {
		if i > 0 {
			fmt.Fprintln(w)
		}
		name := item.Name
		if item.Namespace != "" {
			name = item.Namespace + "/" + item.Name
		}
		fmt.Fprintf(w, "%s %s\n", item.Kind, name)
		fmt.Fprintln(w, "  CLUSTER\tSELECTED\tREPLICAS\tREASON")
		for _, c := range item.Clusters {
			selected, replicas := "no", "-"
			if c.Selected {
				selected = "yes"
			}
			if c.Replicas != nil {
				replicas = fmt.Sprint(*c.Replicas)
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", c.Name, selected, replicas, c.Reason)
		}
		errs := append([]plan.Error(nil), item.Errors...)
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Cluster < errs[j].Cluster })
		for _, e := range errs {
			if e.Cluster == "" {
				fmt.Fprintf(w, "  error: %s\n", e.Message)
			} else {
				fmt.Fprintf(w, "  error (%s): %s\n", e.Cluster, e.Message)
			}
		}
		printWarnings(w, "  ", item.Warnings)
	}
	if len(p.Items) == 0 {
		fmt.Fprintln(w, "No federated objects in the input.")
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintln(w)
		printWarnings(w, "", p.Warnings)
	}
	return w.Flush()
}

// printWarnings prints each warning once, in order, with the clusters it concerns:
// "warning (cce, local): ...".
func printWarnings(w io.Writer, indent string, warnings []plan.Warning) {
	var order []plan.Warning
	clusters := map[plan.Warning][]string{}
	for _, warning := range warnings {
		key := plan.Warning{Reason: warning.Reason, Message: warning.Message}
		if _, seen := clusters[key]; !seen {
			order = append(order, key)
			clusters[key] = nil
		}
		if warning.Cluster != "" {
			clusters[key] = append(clusters[key], warning.Cluster)
		}
	}
	for _, warning := range order {
		if names := clusters[warning]; len(names) > 0 {
			fmt.Fprintf(w, "%swarning (%s): %s\n", indent, strings.Join(names, ", "), warning.Message)
		} else {
			fmt.Fprintf(w, "%swarning: %s\n", indent, warning.Message)
		}
	}
}
