package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/placement"
	"github.com/fedplane/fedplane/pkg/plan"
)

// The states of a member's copy in `fedctl get`.
const (
	memberPresent     = "Present"
	memberAbsent      = "Absent"
	memberUnreachable = "Unreachable"
	memberError       = "Error"
)

// The placement column of `fedctl get`.
const (
	placementSelected    = "Selected"
	placementNotSelected = "NotSelected"
)

type getOptions struct {
	hostFlags
	namespace     string
	allNamespaces bool
	clusters      []string
	output        string
	noHeaders     bool
	memberTimeout time.Duration
	timeout       time.Duration
}

func newGetCommand() *cobra.Command {
	o := &getOptions{}
	cmd := &cobra.Command{
		Use:   "get TYPE [NAME] [-n NAMESPACE | -A] [--clusters a,b] [-o wide|yaml|json]",
		Short: "List federated objects with, for each member, where they are placed and what the member holds",
		Long: `List the federated objects of TYPE in the host, one row per object and registered member
cluster: whether the placement selects the cluster, the propagation status that fed-controller
wrote for it, and whether the member holds the object now, read live from every member at once.
For workloads (objects with spec.replicas) READY is the member's ready and desired replicas.

TYPE is the target type (deployments, deployments.apps) or the federated type
(federateddeployments), as fedctl enable names them. Each member is read with the registration's
endpoint and credentials, as fed-controller reads it, and has --member-timeout to answer: a
member that does not answer in time shows Unreachable, and never holds up the others.

PLACEMENT is Selected, NotSelected or ClusterNotReady (selected, but the cluster is not Ready, so
nothing is written to it); -o wide adds why a cluster is not selected. PROPAGATION is the
cluster's status.clusters entry: OK, a reason such as ApplyOverridesFailed, or - when the status
does not list the cluster. MEMBER is Present, Absent, Unreachable or Error (-o wide says which).`,
		Example: `  fedctl get deployments -A
  fedctl get federatedconfigmaps settings -n shop -o wide
  fedctl get deployments web -n shop --clusters cce -o yaml`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args, cmd.Flags().Changed("namespace"), cmd.OutOrStdout())
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "", "namespace of the federated objects; empty means the context's")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list the federated objects of every namespace")
	cmd.Flags().StringSliceVar(&o.clusters, "clusters", nil, "show only these member clusters (comma-separated registration names)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "wide, yaml or json; empty prints the table")
	cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "print the table without its header line")
	cmd.Flags().DurationVar(&o.memberTimeout, "member-timeout", 3*time.Second, "how long each member has to answer")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for the host")
	return cmd
}

// getRow is one federated object in one member cluster; a list of them is `fedctl get -o json`.
type getRow struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Cluster   string `json:"cluster"`
	// Placement is Selected, NotSelected or ClusterNotReady; Reason why a cluster is not
	// selected.
	Placement string `json:"placement"`
	Reason    string `json:"reason,omitempty"`
	// Propagation is the cluster's status in the federated object's status.clusters: OK, a
	// failure reason, or empty when the status does not list the cluster.
	Propagation string `json:"propagation,omitempty"`
	// Member is Present, Absent, Unreachable or Error; Message says why for the last two.
	Member  string `json:"member"`
	Message string `json:"message,omitempty"`
	// Replicas and ReadyReplicas are the member copy's spec.replicas and status.readyReplicas,
	// for workloads.
	Replicas      *int64 `json:"replicas,omitempty"`
	ReadyReplicas *int64 `json:"readyReplicas,omitempty"`
}

func (o *getOptions) validate() error {
	switch o.output {
	case "", "wide", "yaml", "json":
	default:
		return fmt.Errorf("--output %q: want wide, yaml or json", o.output)
	}
	if o.allNamespaces && o.namespace != "" {
		return errors.New("--all-namespaces and --namespace cannot be given together")
	}
	if o.memberTimeout <= 0 {
		return fmt.Errorf("--member-timeout %s: want a positive duration", o.memberTimeout)
	}
	return nil
}

func (o *getOptions) run(ctx context.Context, args []string, namespaceSet bool, out io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	h, err := o.connect()
	if err != nil {
		return err
	}
	ftc, err := h.getTypeConfig(ctx, args[0])
	if err != nil {
		return err
	}
	namespace := o.scope(h, ftc, namespaceSet)
	objects, err := h.federatedObjects(ctx, ftc, namespace, args[1:])
	if err != nil {
		return err
	}
	clusters, err := h.registrations(ctx)
	if err != nil {
		return err
	}
	clusters = o.selectClusters(clusters)
	rows, err := h.fleetRows(ctx, ftc, namespace, objects, clusters, o.memberTimeout)
	if err != nil {
		return err
	}
	if len(args) > 1 && len(objects) == 0 {
		return fmt.Errorf("%s not found in the host", objectRef(ftc.Spec.FederatedType.Kind, namespace, args[1]))
	}
	withNamespace := o.allNamespaces && ftc.Spec.FederatedType.Scope == corev1beta1.NamespaceScoped
	workloads := scalable[schema.GroupKind{Group: ftc.Spec.TargetType.Group, Kind: ftc.Spec.TargetType.Kind}] ||
		slices.ContainsFunc(rows, func(r getRow) bool { return r.Replicas != nil })
	return printRows(out, rows, o.output, o.noHeaders, withNamespace, workloads)
}

// scalable are the kinds whose table has a READY column, whatever the members hold; any other
// kind has one when a member's copy has spec.replicas.
var scalable = map[schema.GroupKind]bool{
	{Group: "apps", Kind: "Deployment"}: true, {Group: "apps", Kind: "ReplicaSet"}: true, {Group: "apps", Kind: "StatefulSet"}: true,
}

// scope is the namespace to list in: "" for every namespace or a cluster-scoped type.
func (o *getOptions) scope(h *hostClient, ftc *corev1beta1.FederatedTypeConfig, namespaceSet bool) string {
	switch {
	case ftc.Spec.FederatedType.Scope != corev1beta1.NamespaceScoped, o.allNamespaces:
		return ""
	case namespaceSet:
		return o.namespace
	default:
		return h.contextNamespace
	}
}

// selectClusters keeps the registrations that --clusters names, all when it names none.
func (o *getOptions) selectClusters(all []corev1beta1.KubeFedCluster) []corev1beta1.KubeFedCluster {
	if len(o.clusters) == 0 {
		return all
	}
	return slices.DeleteFunc(all, func(c corev1beta1.KubeFedCluster) bool { return !slices.Contains(o.clusters, c.Name) })
}

// getTypeConfig resolves TYPE, a target or a federated type, to its FederatedTypeConfig.
func (h *hostClient) getTypeConfig(ctx context.Context, typeArg string) (*corev1beta1.FederatedTypeConfig, error) {
	r, err := h.resolve(typeArg)
	if err != nil {
		return nil, err
	}
	ftcs, err := h.typeConfigs(ctx)
	if err != nil {
		return nil, err
	}
	ftc, ok := typeConfigOf(ftcs, r)
	if !ok {
		return nil, fmt.Errorf("TYPE %s is neither a federated type nor the target of a FederatedTypeConfig in %s", groupQualifiedName(r.Name, r.Group), h.namespace)
	}
	return ftc, nil
}

// federatedObjects lists the type's federated objects in namespace ("" for all), or gets the
// one named.
func (h *hostClient) federatedObjects(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig, namespace string, name []string) ([]unstructured.Unstructured, error) {
	namespaced := ftc.Spec.FederatedType.Scope == corev1beta1.NamespaceScoped
	rc := h.resource(federatedResource(ftc), namespaced && namespace != "", namespace)
	if len(name) == 1 {
		u, err := rc.Get(ctx, name[0], metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", objectRef(ftc.Spec.FederatedType.Kind, namespace, name[0]), err)
		}
		return []unstructured.Unstructured{*u}, nil
	}
	list, err := rc.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to list the %s: %w", ftc.Spec.FederatedType.PluralName, err)
	}
	return list.Items, nil
}

// fleetRows builds a row per object and cluster: the placement, computed as fed-controller
// computes it, the propagation status, and each member's copy, read from every member at once.
func (h *hostClient) fleetRows(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig, namespace string, objects []unstructured.Unstructured, clusters []corev1beta1.KubeFedCluster, memberTimeout time.Duration) ([]getRow, error) {
	decisions, err := h.placements(ctx, ftc, objects, clusters)
	if err != nil {
		return nil, err
	}
	copies := h.memberCopies(ctx, ftc, namespace, clusters, memberTimeout)
	var rows []getRow
	for i := range objects {
		obj := &objects[i]
		statuses := clusterStatuses(obj)
		for _, c := range clusters {
			row := getRow{Namespace: obj.GetNamespace(), Name: obj.GetName(), Cluster: c.Name}
			row.Placement, row.Reason = placementOf(decisions[objectKey(obj)][c.Name])
			row.Propagation = statuses[c.Name]
			copies[c.Name].fill(&row, obj.GetNamespace(), obj.GetName())
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// placements computes, with pkg/plan (as fedctl plan and fed-controller do), each object's
// decision for each cluster, keyed by object and then cluster.
func (h *hostClient) placements(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig, objects []unstructured.Unstructured, clusters []corev1beta1.KubeFedCluster) (map[string]map[string]plan.Cluster, error) {
	in := plan.Input{Types: map[string]plan.TargetType{}}
	for _, c := range clusters {
		in.Clusters = append(in.Clusters, placement.Cluster{Name: c.Name, Labels: c.Labels, Ready: cluster.IsReady(c.Status)})
	}
	tt := ftc.Spec.TargetType
	in.Types[ftc.Spec.FederatedType.Kind] = plan.TargetType{
		APIVersion: schema.GroupVersion{Group: tt.Group, Version: tt.Version}.String(), Kind: tt.Kind, Namespaced: tt.Scope == corev1beta1.NamespaceScoped,
	}
	for i := range objects {
		in.Objects = append(in.Objects, &objects[i])
	}
	if tt.Scope == corev1beta1.NamespaceScoped && !isNamespace(tt) {
		list, err := h.dyn.Resource(typesv1beta1.GroupVersion.WithResource("federatednamespaces")).List(ctx, metav1.ListOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("failed to list the FederatedNamespaces: %w", err)
		}
		if list != nil {
			for i := range list.Items {
				in.Objects = append(in.Objects, &list.Items[i])
			}
		}
		in.Types[typesv1beta1.FederatedNamespaceGVK.Kind] = plan.TargetType{APIVersion: "v1", Kind: "Namespace"}
	}
	out := map[string]map[string]plan.Cluster{}
	for _, item := range plan.Compute(in).Items {
		if item.Kind != ftc.Spec.FederatedType.Kind {
			continue
		}
		byCluster := map[string]plan.Cluster{}
		for _, c := range item.Clusters {
			byCluster[c.Name] = c
		}
		out[namespacedName(item.Namespace, item.Name)] = byCluster
	}
	return out, nil
}

func objectKey(obj *unstructured.Unstructured) string {
	return namespacedName(obj.GetNamespace(), obj.GetName())
}

// placementOf is the PLACEMENT column of a cluster's decision, and why it is not selected.
func placementOf(c plan.Cluster) (string, string) {
	switch {
	case c.Selected && c.Reason == string(placement.ClusterNotReady):
		return string(placement.ClusterNotReady), ""
	case c.Selected:
		return placementSelected, ""
	default:
		return placementNotSelected, c.Reason
	}
}

// clusterStatuses maps each cluster in the object's status.clusters to its status, OK for none.
func clusterStatuses(obj *unstructured.Unstructured) map[string]string {
	out := map[string]string{}
	list, _, _ := unstructured.NestedSlice(obj.Object, "status", "clusters")
	for _, c := range list {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["name"].(string)
		status, _ := m["status"].(string)
		if status == "" {
			status = "OK"
		}
		out[name] = status
	}
	return out
}

// memberCopies is what one member answered when its copies were listed.
type memberCopies struct {
	state   string
	message string
	objects map[string]*unstructured.Unstructured
}

// fill sets the row's member columns from the member's copy of namespace/name.
func (m memberCopies) fill(row *getRow, namespace, name string) {
	if m.state != memberPresent {
		row.Member, row.Message = m.state, m.message
		return
	}
	obj, ok := m.objects[namespacedName(namespace, name)]
	if !ok {
		row.Member = memberAbsent
		return
	}
	row.Member = memberPresent
	if replicas, found, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas"); found {
		ready, _, _ := unstructured.NestedInt64(obj.Object, "status", "readyReplicas")
		row.Replicas, row.ReadyReplicas = &replicas, &ready
	}
}

// memberCopies lists the target type in namespace ("" for all) in every member at once, each
// with memberTimeout; a member that does not answer in time is Unreachable.
func (h *hostClient) memberCopies(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig, namespace string, clusters []corev1beta1.KubeFedCluster, memberTimeout time.Duration) map[string]memberCopies {
	return eachMember(ctx, h, clusters, memberTimeout,
		func(ctx context.Context, cs kubernetes.Interface, kfc *corev1beta1.KubeFedCluster) memberCopies {
			return h.listIn(ctx, cs, kfc, targetResource(ftc), namespace)
		},
		func(err error) memberCopies { return memberCopies{state: memberError, message: err.Error()} })
}

// listIn lists the copies in one member, connecting as fed-controller does.
func (h *hostClient) listIn(ctx context.Context, cs kubernetes.Interface, kfc *corev1beta1.KubeFedCluster, gvr schema.GroupVersionResource, namespace string) memberCopies {
	member, _, err := h.memberDynamic(ctx, cs, kfc)
	if err != nil {
		return memberCopies{state: memberError, message: err.Error()}
	}
	rc := dynamic.ResourceInterface(member.Resource(gvr))
	if namespace != "" {
		rc = member.Resource(gvr).Namespace(namespace)
	}
	list, err := rc.List(ctx, metav1.ListOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return memberCopies{state: memberUnreachable, message: "no answer within the member timeout"}
		}
		return memberCopies{state: memberError, message: err.Error()}
	}
	m := memberCopies{state: memberPresent, objects: map[string]*unstructured.Unstructured{}}
	for i := range list.Items {
		m.objects[objectKey(&list.Items[i])] = &list.Items[i]
	}
	return m
}

// printRows prints the rows as a table (wide or not; with a NAMESPACE column, and a READY
// column for workloads), YAML or JSON.
func printRows(out io.Writer, rows []getRow, output string, noHeaders, withNamespace, workloads bool) error {
	switch output {
	case "json", "yaml":
		if rows == nil {
			rows = []getRow{}
		}
		b, err := json.MarshalIndent(map[string]any{"items": rows}, "", "  ")
		if err != nil {
			return err
		}
		if output == "yaml" {
			if b, err = yaml.JSONToYAML(b); err != nil {
				return err
			}
		} else {
			b = append(b, '\n')
		}
		_, err = out.Write(b)
		return err
	}
	tw := tabwriter.NewWriter(out, 10, 4, 3, ' ', 0)
	if !noHeaders {
		fmt.Fprintln(tw, strings.Join(columns(withNamespace, workloads, output == "wide"), "\t"))
	}
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r.cells(withNamespace, workloads, output == "wide"), "\t"))
	}
	return tw.Flush()
}

func columns(withNamespace, workloads, wide bool) []string {
	var cols []string
	if withNamespace {
		cols = append(cols, "NAMESPACE")
	}
	cols = append(cols, "NAME", "CLUSTER", "PLACEMENT", "PROPAGATION", "MEMBER")
	if workloads {
		cols = append(cols, "READY")
	}
	if wide {
		cols = append(cols, "REASON", "MESSAGE")
	}
	return cols
}

func (r getRow) cells(withNamespace, workloads, wide bool) []string {
	var cells []string
	if withNamespace {
		cells = append(cells, r.Namespace)
	}
	cells = append(cells, r.Name, r.Cluster, r.Placement, orDash(r.Propagation), r.Member)
	if workloads {
		ready := "-"
		if r.Replicas != nil {
			ready = fmt.Sprintf("%d/%d", *r.ReadyReplicas, *r.Replicas)
		}
		cells = append(cells, ready)
	}
	if wide {
		cells = append(cells, orDash(r.Reason), orDash(r.Message))
	}
	return cells
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
