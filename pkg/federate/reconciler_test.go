package federate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/fedplane/fedplane/api/contract"
	corev1alpha1 "github.com/fedplane/fedplane/api/core/v1alpha1"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/conflict"
	"github.com/fedplane/fedplane/pkg/hostview"
)

const fedNamespace = "kube-federation-system"

// host is a sync reconciler of FederatedConfigMaps over a fake host. Its member cache has no
// member connected: every registered cluster is as one not Ready.
type host struct {
	r        *SyncReconciler
	client   client.Client
	recorder *events.FakeRecorder
	log      *bytes.Buffer
}

// newHost makes a host that holds objs, whose writes go through funcs.
func newHost(t *testing.T, funcs interceptor.Funcs, objs ...client.Object) *host {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, corev1beta1.AddToScheme, corev1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	typ := configMapType(false)
	scheme.AddKnownTypeWithName(typ.Federated, &unstructured.Unstructured{})
	scheme.AddKnownTypeWithName(typ.Federated.GroupVersion().WithKind(typ.Federated.Kind+"List"), &unstructured.UnstructuredList{})
	scheme.AddKnownTypeWithName(typesv1beta1.FederatedNamespaceGVK, &unstructured.Unstructured{})
	scheme.AddKnownTypeWithName(typesv1beta1.FederatedNamespaceGVK.GroupVersion().WithKind("FederatedNamespaceList"), &unstructured.UnstructuredList{})
	status := &unstructured.Unstructured{}
	status.SetGroupVersionKind(typ.Federated)
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(status, &corev1alpha1.PropagatedVersion{}, &corev1beta1.FederatedTypeConfig{}).WithInterceptorFuncs(funcs).Build()
	recorder := events.NewFakeRecorder(100)
	r := &SyncReconciler{
		Client: c, APIReader: c, Members: &cluster.Cache{}, Recorder: recorder, Namespace: fedNamespace,
		ControlPlaneID: thisControlPlane, Type: typ,
	}
	return &host{r: r, client: c, recorder: recorder, log: &bytes.Buffer{}}
}

// reconcile reconciles the object settings/default, logging up to V(1) into h.log.
func (h *host) reconcile(t *testing.T) (reconcile.Result, error) {
	t.Helper()
	return h.r.Reconcile(h.context(), reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: "settings"}})
}

// context is a context whose logger writes up to V(1) into h.log.
func (h *host) context() context.Context {
	log := funcr.New(func(prefix, args string) { h.log.WriteString(prefix + " " + args + "\n") }, funcr.Options{Verbosity: 1})
	return ctrl.LoggerInto(context.Background(), log)
}

// fed reads the federated object back.
func (h *host) fed(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(h.r.Type.Federated)
	if err := h.client.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "settings"}, u); err != nil {
		t.Fatalf("failed to read the federated object: %v", err)
	}
	return u
}

// propagation is the object's Propagation condition and its clusters' statuses, as read back.
func (h *host) propagation(t *testing.T) (typesv1beta1.Condition, []typesv1beta1.ClusterStatus) {
	t.Helper()
	var status typesv1beta1.FederatedStatus
	if err := hostview.FromUnstructured(h.fed(t).Object["status"], &status); err != nil {
		t.Fatal(err)
	}
	for _, c := range status.Conditions {
		if c != nil && c.Type == typesv1beta1.PropagationConditionType {
			got := *c
			got.LastTransitionTime, got.LastUpdateTime = "", ""
			return got, status.Clusters
		}
	}
	return typesv1beta1.Condition{}, status.Clusters
}

// events returns the events recorded so far, as "Type Reason".
func (h *host) events() []string {
	var out []string
	for _, e := range h.eventLines() {
		f := strings.Fields(e)
		out = append(out, f[0]+" "+f[1])
	}
	return out
}

// eventLines returns the events recorded so far, as "Type Reason Message".
func (h *host) eventLines() []string {
	var out []string
	for {
		select {
		case e := <-h.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// registered is a KubeFedCluster; a Ready one says so in its Ready condition.
func registered(name string) *corev1beta1.KubeFedCluster {
	return &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: fedNamespace, Name: name},
		Status: corev1beta1.KubeFedClusterStatus{Conditions: []corev1beta1.ClusterCondition{{
			Type: corev1beta1.ClusterReady, Status: "True",
		}}},
	}
}

// federatedNamespace is the FederatedNamespace of default, placed in every cluster.
func federatedNamespace() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"placement": map[string]any{"clusterSelector": map[string]any{}}},
	}}
	u.SetGroupVersionKind(typesv1beta1.FederatedNamespaceGVK)
	u.SetNamespace("default")
	u.SetName("default")
	return u
}

func TestReconcileRecordsEachClusterInTheStatus(t *testing.T) {
	h := newHost(t, interceptor.Funcs{}, newFed().build(), registered(thisCluster), federatedNamespace())
	if _, err := h.reconcile(t); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if fed := h.fed(t); !cmp.Equal(fed.GetFinalizers(), []string{contract.SyncFinalizer}) {
		t.Errorf("finalizers = %v, want [%s]", fed.GetFinalizers(), contract.SyncFinalizer)
	}
	cond, clusters := h.propagation(t)
	want := typesv1beta1.Condition{Type: typesv1beta1.PropagationConditionType, Status: "False", Reason: typesv1beta1.CheckClusters}
	if diff := cmp.Diff(want, cond); diff != "" {
		t.Errorf("Propagation condition (-want +got):\n%s", diff)
	}
	wantClusters := []typesv1beta1.ClusterStatus{{Name: thisCluster, Status: typesv1beta1.ClusterNotReady}}
	if diff := cmp.Diff(wantClusters, clusters); diff != "" {
		t.Errorf("status.clusters (-want +got):\n%s", diff)
	}
}

func TestReconcileRecordsAPlacementThatCannotBeComputed(t *testing.T) {
	fed := newFed().set(map[string]any{"matchExpressions": []any{map[string]any{"key": "env", "operator": "Almost"}}}, "spec", "placement", "clusterSelector")
	unstructured.RemoveNestedField(fed.u.Object, "spec", "placement", "clusters")
	h := newHost(t, interceptor.Funcs{}, fed.build(), registered(thisCluster), federatedNamespace())
	_, err := h.reconcile(t)
	if !errors.Is(err, reconcile.TerminalError(nil)) {
		t.Errorf("Reconcile error = %v, want a terminal error: retrying cannot fix the placement", err)
	}
	cond, _ := h.propagation(t)
	if cond.Status != "False" || cond.Reason != typesv1beta1.ComputePlacementFailed || !strings.Contains(cond.Message, `"Almost"`) {
		t.Errorf("Propagation condition = %+v, want False, ComputePlacementFailed and a message naming the operator \"Almost\"", cond)
	}
	if diff := cmp.Diff([]string{"Warning ComputePlacementFailed"}, h.events()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestReconcileTellsTheClustersThatThePlacementNamesAndAreNotRegistered(t *testing.T) {
	var refs []any
	for i := range 500 {
		// In reverse order, to see that the message sorts them.
		refs = append(refs, map[string]any{"name": fmt.Sprintf("ghost-%03d", 499-i)})
	}
	fed := newFed().set(refs, "spec", "placement", "clusters")
	h := newHost(t, interceptor.Funcs{}, fed.build(), registered(thisCluster), registered("local"), federatedNamespace())
	if _, err := h.reconcile(t); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	const message = "spec.placement.clusters names 500 clusters that are not registered; they are ignored: " +
		"ghost-000, ghost-001, ghost-002, ghost-003, ghost-004, ghost-005, ghost-006, ghost-007, ghost-008, ghost-009 and 490 more"
	cond, _ := h.propagation(t)
	// KubeFed's status: a name that is not registered is ignored, and the object is propagated.
	want := typesv1beta1.Condition{Type: typesv1beta1.PropagationConditionType, Status: "True", Message: message}
	if diff := cmp.Diff(want, cond); diff != "" {
		t.Errorf("Propagation condition (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Warning UnknownClusters " + message}, h.eventLines()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if _, err := h.reconcile(t); err != nil {
		t.Fatalf("second Reconcile: %v", err)
	}
	if got := h.events(); len(got) != 0 {
		t.Errorf("events of a reconcile that changed nothing = %v, want none: the status already says it", got)
	}
}

// recordedIn is the PropagatedVersion of settings, recording a copy in each of clusters.
func recordedIn(clusters ...string) *corev1alpha1.PropagatedVersion {
	pv := &corev1alpha1.PropagatedVersion{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: PropagatedVersionName("ConfigMap", "settings")}}
	for _, c := range clusters {
		pv.Status.ClusterVersions = append(pv.Status.ClusterVersions, corev1alpha1.ClusterObjectVersion{ClusterName: c, Version: "rv:1"})
	}
	return pv
}

func TestReconcileOfADeletedObjectSaysWhatItWaitsFor(t *testing.T) {
	// The copy in cce cannot be removed while cce is not Ready (no member is connected here).
	h := newHost(t, interceptor.Funcs{}, newFed().deleting().build(), registered(thisCluster), federatedNamespace(), recordedIn(thisCluster))
	if _, err := h.reconcile(t); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	cond, clusters := h.propagation(t)
	want := typesv1beta1.Condition{
		Type: typesv1beta1.PropagationConditionType, Status: "False", Reason: typesv1beta1.CheckClusters,
		Message: "Being deleted: waiting for its copy in cluster cce to be removed",
	}
	if diff := cmp.Diff(want, cond); diff != "" {
		t.Errorf("Propagation condition (-want +got):\n%s", diff)
	}
	wantClusters := []typesv1beta1.ClusterStatus{{Name: thisCluster, Status: typesv1beta1.ClusterNotReady}}
	if diff := cmp.Diff(wantClusters, clusters); diff != "" {
		t.Errorf("status.clusters (-want +got):\n%s", diff)
	}
	if fed := h.fed(t); !cmp.Equal(fed.GetFinalizers(), []string{contract.SyncFinalizer}) {
		t.Errorf("finalizers = %v, want [%s] while a copy may remain", fed.GetFinalizers(), contract.SyncFinalizer)
	}
}

// conflictOn returns interceptor functions under which the writes that match fail with a
// conflict, as a write from a stale read does.
func conflictOn(match func(obj client.Object, subResource string) bool) interceptor.Funcs {
	conflict := func(obj client.Object) error {
		return apierrors.NewConflict(schema.GroupResource{Resource: "objects"}, obj.GetName(), errors.New("the object has been modified"))
	}
	return interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if match(obj, "") {
				return conflict(obj)
			}
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if match(obj, "") {
				return conflict(obj)
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			if match(obj, sub) {
				return conflict(obj)
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	}
}

func TestReconcileRetriesHostWritesThatConflict(t *testing.T) {
	cases := []struct {
		name  string
		write string
		match func(obj client.Object, subResource string) bool
	}{
		{
			name: "the finalizer's write", write: "add the finalizer",
			match: func(obj client.Object, sub string) bool {
				_, ok := obj.(*unstructured.Unstructured)
				return ok && sub == ""
			},
		},
		{
			name: "the status write", write: "write the status",
			match: func(obj client.Object, sub string) bool {
				_, ok := obj.(*unstructured.Unstructured)
				return ok && sub == "status"
			},
		},
		{
			name: "the propagated version's write", write: "write the propagated version",
			match: func(obj client.Object, _ string) bool { _, ok := obj.(*corev1alpha1.PropagatedVersion); return ok },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The recorded version differs from what the reconcile finds, so that it is written.
			h := newHost(t, conflictOn(tc.match), newFed().build(), registered(thisCluster), federatedNamespace(), recordedIn(thisCluster))
			result, err := h.reconcile(t)
			if err != nil {
				t.Fatalf("Reconcile error = %v, want none: a conflict is retried shortly, not reported as an error", err)
			}
			if result.RequeueAfter != conflict.Recheck {
				t.Errorf("RequeueAfter = %v, want %v", result.RequeueAfter, conflict.Recheck)
			}
			if log := h.log.String(); !strings.Contains(log, `"write"="`+tc.write+`"`) || !strings.Contains(log, `"level"=1`) {
				t.Errorf("log = %q, want a V(1) line naming the write %q", log, tc.write)
			}
		})
	}
}
