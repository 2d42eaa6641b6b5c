package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/federate"
	"github.com/fedplane/fedplane/pkg/overrides"
	"github.com/fedplane/fedplane/pkg/plan"
)

// maxEvents is how many of the most recent events describe shows, on the host and per member.
const maxEvents = 10

type describeOptions struct {
	hostFlags
	namespace     string
	memberTimeout time.Duration
	timeout       time.Duration
}

func newDescribeCommand() *cobra.Command {
	o := &describeOptions{}
	cmd := &cobra.Command{
		Use:   "describe TYPE NAME [-n NAMESPACE]",
		Short: "Show one federated object across the fleet: placement, overrides, drift, replica plan and events",
		Long: `Show the federated object NAME of TYPE and, for each registered member cluster: why the placement
selects it or not (computed from the live objects by the same code as fed-controller), the
overrides it gets, the propagation status, and the member's copy, read live: its version, and its
drift, the fields that differ from what fedplane renders for that cluster (what fed-controller's
next apply would change). Then the ReplicaSchedulingPreference that targets the object, if any,
and the most recent events about it, on the host and in each member.

TYPE is the target type (deployments) or the federated type (federateddeployments). Each member has
--member-timeout to answer; one that does not shows Unreachable.`,
		Example: `  fedctl describe deployments web -n shop
  fedctl describe federatedconfigmaps settings -n shop`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args[0], args[1], cmd.Flags().Changed("namespace"), cmd.OutOrStdout())
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "", "namespace of the federated object; empty means the context's (NAME for a FederatedNamespace)")
	cmd.Flags().DurationVar(&o.memberTimeout, "member-timeout", 3*time.Second, "how long each member has to answer")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for the host")
	return cmd
}

// memberView is what describe reads of one member: its copy and the events about it.
type memberView struct {
	state   string
	message string
	copy    *unstructured.Unstructured
	events  []string
}

func (o *describeOptions) run(ctx context.Context, typeArg, name string, namespaceSet bool, out io.Writer) error {
	if o.memberTimeout <= 0 {
		return fmt.Errorf("--member-timeout %s: want a positive duration", o.memberTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	h, err := o.connect()
	if err != nil {
		return err
	}
	ftc, err := h.getTypeConfig(ctx, typeArg)
	if err != nil {
		return err
	}
	namespace := h.objectNamespace(ftc, name, o.namespace, namespaceSet)
	objects, err := h.federatedObjects(ctx, ftc, namespace, []string{name})
	if err != nil {
		return err
	}
	if len(objects) == 0 {
		return fmt.Errorf("%s not found in the host", objectRef(ftc.Spec.FederatedType.Kind, namespace, name))
	}
	obj := &objects[0]
	clusters, err := h.registrations(ctx)
	if err != nil {
		return err
	}
	decisions, err := h.placements(ctx, ftc, objects, clusters)
	if err != nil {
		return err
	}
	members := h.memberViews(ctx, ftc, obj, clusters, o.memberTimeout)
	d := describer{out: out, ftc: ftc, obj: obj, decisions: decisions[objectKey(obj)], members: members}
	d.header()
	d.clusters(clusters)
	d.preference(h.preferenceFor(ctx, ftc, obj))
	d.events(h.hostEvents(ctx, ftc.Spec.FederatedType.Kind, obj), clusters)
	return d.err
}

// memberViews reads the object's copy, and the events about it, in every member at once.
func (h *hostClient) memberViews(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig, obj *unstructured.Unstructured, clusters []corev1beta1.KubeFedCluster, memberTimeout time.Duration) map[string]memberView {
	return eachMember(ctx, h, clusters, memberTimeout,
		func(ctx context.Context, cs kubernetes.Interface, kfc *corev1beta1.KubeFedCluster) memberView {
			return h.viewIn(ctx, cs, kfc, ftc, obj)
		},
		func(err error) memberView { return memberView{state: memberError, message: err.Error()} })
}

// viewIn reads one member's copy of the object and the events about it.
func (h *hostClient) viewIn(ctx context.Context, cs kubernetes.Interface, kfc *corev1beta1.KubeFedCluster, ftc *corev1beta1.FederatedTypeConfig, obj *unstructured.Unstructured) memberView {
	member, cfg, err := h.memberDynamic(ctx, cs, kfc)
	if err != nil {
		return memberView{state: memberError, message: err.Error()}
	}
	namespace := ""
	if ftc.Spec.TargetType.Scope == corev1beta1.NamespaceScoped {
		namespace = obj.GetNamespace()
	}
	got, err := h.resourceIn(member, ftc, namespace).Get(ctx, obj.GetName(), metav1.GetOptions{})
	switch {
	case err == nil:
	case apierrors.IsNotFound(err):
		return memberView{state: memberAbsent}
	case ctx.Err() != nil:
		return memberView{state: memberUnreachable, message: "no answer within the member timeout"}
	default:
		return memberView{state: memberError, message: err.Error()}
	}
	v := memberView{state: memberPresent, copy: got}
	if mcs, err := kubernetes.NewForConfig(cfg); err == nil {
		v.events = events(ctx, mcs, namespace, ftc.Spec.TargetType.Kind, obj.GetName())
	}
	return v
}

func (h *hostClient) resourceIn(member dynamic.Interface, ftc *corev1beta1.FederatedTypeConfig, namespace string) dynamic.ResourceInterface {
	if namespace == "" {
		return member.Resource(targetResource(ftc))
	}
	return member.Resource(targetResource(ftc)).Namespace(namespace)
}

// hostEvents are the most recent events about the federated object in the host.
func (h *hostClient) hostEvents(ctx context.Context, kind string, obj *unstructured.Unstructured) []string {
	cs, err := kubernetes.NewForConfig(h.config)
	if err != nil {
		return []string{"failed to read the events: " + err.Error()}
	}
	return events(ctx, cs, obj.GetNamespace(), kind, obj.GetName())
}

// events lists the most recent events about kind name in namespace, oldest first, each as
// "age  type  reason  note", or the failure to list them.
func events(ctx context.Context, cs kubernetes.Interface, namespace, kind, name string) []string {
	selector := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name}.AsSelector().String()
	list, err := cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: selector})
	if err != nil {
		return []string{"failed to read the events: " + err.Error()}
	}
	items := list.Items
	sort.SliceStable(items, func(i, j int) bool { return eventTime(items[i]).Before(eventTime(items[j])) })
	if len(items) > maxEvents {
		items = items[len(items)-maxEvents:]
	}
	out := make([]string, 0, len(items))
	for _, e := range items {
		age := "-"
		if t := eventTime(e); !t.IsZero() {
			age = time.Since(t).Round(time.Second).String()
		}
		note := e.Message
		if e.Count > 1 {
			note = fmt.Sprintf("%s (x%d)", note, e.Count)
		}
		out = append(out, fmt.Sprintf("%s ago\t%s\t%s\t%s", age, e.Type, e.Reason, note))
	}
	return out
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.CreationTimestamp.Time
	}
}

// preferenceFor is the ReplicaSchedulingPreference of the object's namespace and name whose
// targetKind is the object's kind, or nil.
func (h *hostClient) preferenceFor(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig, obj *unstructured.Unstructured) *schedulingv1alpha1.ReplicaSchedulingPreference {
	if obj.GetNamespace() == "" {
		return nil
	}
	gvr := schedulingv1alpha1.GroupVersion.WithResource("replicaschedulingpreferences")
	u, err := h.dyn.Resource(gvr).Namespace(obj.GetNamespace()).Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return nil
	}
	p := &schedulingv1alpha1.ReplicaSchedulingPreference{}
	if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, p) != nil || p.Spec.TargetKind != ftc.Spec.FederatedType.Kind {
		return nil
	}
	return p
}

// describer prints one object's description; err is the first failure to write.
type describer struct {
	out       io.Writer
	ftc       *corev1beta1.FederatedTypeConfig
	obj       *unstructured.Unstructured
	decisions map[string]plan.Cluster
	members   map[string]memberView
	err       error
}

func (d *describer) printf(format string, args ...any) {
	if d.err == nil {
		_, d.err = fmt.Fprintf(d.out, format, args...)
	}
}

func (d *describer) header() {
	d.printf("Name:         %s\n", d.obj.GetName())
	if ns := d.obj.GetNamespace(); ns != "" {
		d.printf("Namespace:    %s\n", ns)
	}
	d.printf("Kind:         %s (propagates %s)\n", d.ftc.Spec.FederatedType.Kind, groupQualifiedName(d.ftc.Spec.TargetType.PluralName, d.ftc.Spec.TargetType.Group))
	st := &typesv1beta1.FederatedStatus{}
	if raw, ok := d.obj.Object["status"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(raw, st)
	}
	for _, c := range st.Conditions {
		if c != nil && c.Type == typesv1beta1.PropagationConditionType {
			d.printf("Propagation:  %s\n", strings.TrimSpace(fmt.Sprintf("%s %s %s", c.Status, orDash(string(c.Reason)), c.Message)))
		}
	}
	placementSpec, _, _ := unstructured.NestedFieldNoCopy(d.obj.Object, "spec", "placement")
	d.printf("Placement:    %s\n", compactJSON(placementSpec))
}

// clusters prints, per registered cluster, the placement decision, the overrides, the
// propagation status and the member's copy with its drift.
func (d *describer) clusters(clusters []corev1beta1.KubeFedCluster) {
	statuses := clusterStatuses(d.obj)
	overrides := overridesByCluster(d.obj)
	d.printf("Clusters:\n")
	for _, c := range clusters {
		dec := d.decisions[c.Name]
		placed, reason := placementOf(dec)
		d.printf("  %s:\n", c.Name)
		d.printf("    Placement:    %s\n", strings.TrimSpace(placed+" "+reason))
		d.printf("    Overrides:    %s\n", orNone(overrides[c.Name]))
		d.printf("    Propagation:  %s\n", orDash(statuses[c.Name]))
		v := d.members[c.Name]
		if v.copy == nil {
			d.printf("    Member:       %s\n", strings.TrimSpace(v.state+" "+v.message))
			continue
		}
		d.printf("    Member:       Present, resourceVersion %s, generation %d, created %s\n",
			v.copy.GetResourceVersion(), v.copy.GetGeneration(), v.copy.GetCreationTimestamp().UTC().Format(time.RFC3339))
		if dec.Object != nil {
			d.printf("    Drift:        %s\n", orNone(d.drift(dec.Object, v.copy)))
		}
	}
}

// drift names the fields of the copy that differ from what fedplane renders for the cluster.
func (d *describer) drift(rendered map[string]any, member *unstructured.Unstructured) string {
	want := (&unstructured.Unstructured{Object: rendered}).DeepCopy()
	if typesv1beta1.RetainReplicas(d.obj) {
		// The member's own replicas are kept, whatever the template says.
		unstructured.RemoveNestedField(want.Object, "spec", "replicas")
	}
	var parts []string
	for _, path := range federate.Drift(want, member) {
		parts = append(parts, fmt.Sprintf("%s (member %s, fedplane renders %s)", path, compactJSON(at(member.Object, path)), compactJSON(at(want.Object, path))))
	}
	return strings.Join(parts, "; ")
}

func (d *describer) preference(p *schedulingv1alpha1.ReplicaSchedulingPreference) {
	if p == nil {
		return
	}
	d.printf("ReplicaSchedulingPreference %s/%s:\n", p.Namespace, p.Name)
	d.printf("  Total replicas:  %d (scheduled %d, ready %d)\n", p.Spec.TotalReplicas, p.Status.ScheduledReplicas, p.Status.ReadyReplicas)
	d.printf("  Plan:            %s\n", orNone(p.Status.Summary))
	for _, c := range p.Status.Conditions {
		d.printf("  %s:  %s %s %s\n", c.Type, c.Status, c.Reason, c.Message)
	}
}

func (d *describer) events(host []string, clusters []corev1beta1.KubeFedCluster) {
	d.printf("Events (host):\n")
	d.eventLines(host)
	for _, c := range clusters {
		if v := d.members[c.Name]; v.copy != nil {
			d.printf("Events (%s):\n", c.Name)
			d.eventLines(v.events)
		}
	}
}

func (d *describer) eventLines(lines []string) {
	if len(lines) == 0 {
		d.printf("  <none>\n")
	}
	for _, l := range lines {
		d.printf("  %s\n", strings.ReplaceAll(l, "\t", "  "))
	}
}

// overridesByCluster gives each cluster's overrides as "op path value" items.
func overridesByCluster(obj *unstructured.Unstructured) map[string]string {
	out := map[string]string{}
	list, _, _ := unstructured.NestedSlice(obj.Object, "spec", "overrides")
	for _, item := range list {
		m, _ := item.(map[string]any)
		name, _ := m["clusterName"].(string)
		ops, _ := m["clusterOverrides"].([]any)
		var parts []string
		for _, op := range ops {
			o, _ := op.(map[string]any)
			verb, _ := o["op"].(string)
			if verb == "" {
				verb = "replace"
			}
			path, _ := o["path"].(string)
			part := verb + " " + path
			if v, ok := o["value"]; ok {
				part += " " + compactJSON(v)
			}
			parts = append(parts, part)
		}
		out[name] = strings.Join(parts, "; ")
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// compactJSON is v as one line of JSON; "<unset>" for nil.
func compactJSON(v any) string {
	if v == nil {
		return "<unset>"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// at is the value at a JSON pointer in obj, nil when there is none.
func at(obj map[string]any, pointer string) any {
	var cur any = obj
	for _, token := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		token = overrides.UnescapePointerToken(token)
		switch c := cur.(type) {
		case map[string]any:
			cur = c[token]
		case []any:
			i, err := strconv.Atoi(token)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}
