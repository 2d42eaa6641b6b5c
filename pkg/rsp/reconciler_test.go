package rsp

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
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

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/conflict"
)

const fedNamespace = "kube-federation-system"

// preferenceHost is a fake host that holds a preference default/web for its FederatedDeployment,
// which has no overrides yet, and one Ready cluster; its writes go through funcs.
func preferenceHost(t *testing.T, funcs interceptor.Funcs) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, corev1beta1.AddToScheme, schedulingv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	for _, gvk := range []schema.GroupVersionKind{Targets["FederatedDeployment"].Federated, typesv1beta1.FederatedNamespaceGVK} {
		scheme.AddKnownTypeWithName(gvk, &unstructured.Unstructured{})
		scheme.AddKnownTypeWithName(gvk.GroupVersion().WithKind(gvk.Kind+"List"), &unstructured.UnstructuredList{})
	}
	target := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"template":  map[string]any{"spec": map[string]any{"replicas": int64(1)}},
		"placement": map[string]any{"clusterSelector": map[string]any{}},
	}}}
	target.SetGroupVersionKind(Targets["FederatedDeployment"].Federated)
	target.SetNamespace("default")
	target.SetName("web")
	fedNS := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"placement": map[string]any{"clusterSelector": map[string]any{}}}}}
	fedNS.SetGroupVersionKind(typesv1beta1.FederatedNamespaceGVK)
	fedNS.SetNamespace("default")
	fedNS.SetName("default")
	kfc := &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: fedNamespace, Name: "cce"},
		Status:     corev1beta1.KubeFedClusterStatus{Conditions: []corev1beta1.ClusterCondition{{Type: corev1beta1.ClusterReady, Status: "True"}}},
	}
	pref := &schedulingv1alpha1.ReplicaSchedulingPreference{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec:       schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{TargetKind: "FederatedDeployment", TotalReplicas: 4},
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(target, fedNS, kfc, pref).
		WithStatusSubresource(pref).WithInterceptorFuncs(funcs).Build()
}

func conflictErr(obj client.Object) error {
	return apierrors.NewConflict(schema.GroupResource{Resource: "objects"}, obj.GetName(), errors.New("the object has been modified"))
}

func TestReconcileRetriesHostWritesThatConflict(t *testing.T) {
	cases := []struct {
		name  string
		write string
		funcs interceptor.Funcs
	}{
		{
			name: "the target's write", write: "write the target",
			funcs: interceptor.Funcs{Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
				if _, ok := obj.(*unstructured.Unstructured); ok {
					return conflictErr(obj)
				}
				return c.Patch(ctx, obj, patch, opts...)
			}},
		},
		{
			name: "the status write", write: "write the status",
			funcs: interceptor.Funcs{SubResourcePatch: func(_ context.Context, _ client.Client, _ string, obj client.Object, _ client.Patch, _ ...client.SubResourcePatchOption) error {
				return conflictErr(obj)
			}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := preferenceHost(t, tc.funcs)
			var log bytes.Buffer
			ctx := ctrl.LoggerInto(context.Background(), funcr.New(func(prefix, args string) { log.WriteString(prefix + " " + args + "\n") }, funcr.Options{Verbosity: 1}))
			r := &Reconciler{Client: c, Members: &cluster.Cache{}, Recorder: events.NewFakeRecorder(10), Namespace: fedNamespace}
			key := types.NamespacedName{Namespace: "default", Name: "web"}
			result, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key})
			if err != nil {
				t.Fatalf("Reconcile error = %v, want none: a conflict is retried shortly, not reported as an error", err)
			}
			if result.RequeueAfter != conflict.Recheck {
				t.Errorf("RequeueAfter = %v, want %v", result.RequeueAfter, conflict.Recheck)
			}
			if !strings.Contains(log.String(), `"write"="`+tc.write+`"`) {
				t.Errorf("log = %q, want a V(1) line naming the write %q", log.String(), tc.write)
			}
			pref := &schedulingv1alpha1.ReplicaSchedulingPreference{}
			if err := c.Get(ctx, key, pref); err != nil {
				t.Fatal(err)
			}
			if cond := meta.FindStatusCondition(pref.Status.Conditions, ConditionPlanned); cond != nil && cond.Reason == ReasonUpdateFailed {
				t.Errorf("Planned condition = %+v, want no UpdateFailed: a conflict is no failure", cond)
			}
		})
	}
}
