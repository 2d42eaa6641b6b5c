package install_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	"k8s.io/utils/ptr"

	"github.com/fedplane/fedplane/e2e/framework"
)

// kubeFedConfig is the control plane's KubeFedConfig, as the chart names it.
var kubeFedConfig = &unstructured.Unstructured{Object: map[string]any{
	"apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedConfig",
	"metadata": map[string]any{"name": "kubefed", "namespace": namespace},
}}

// checkDeployment checks fed-controller's Deployment: replicas, leader election, the pod's and
// the container's security context, and GOMEMLIMIT (90% of the default 512Mi limit).
func checkDeployment(t *testing.T, apps appsv1client.AppsV1Interface) {
	t.Helper()
	d, err := apps.Deployments(namespace).Get(t.Context(), release+"-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("failed to get fed-controller's Deployment: %v", err)
	}
	if got := ptr.Deref(d.Spec.Replicas, 0); got != 2 {
		t.Errorf("Deployment replicas = %d, want 2", got)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("the pod has %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !slices.Contains(c.Args, "--leader-elect") {
		t.Errorf("container args %q lack --leader-elect", c.Args)
	}
	psc := ptr.Deref(pod.SecurityContext, corev1.PodSecurityContext{})
	gotPod := map[string]any{"runAsNonRoot": ptr.Deref(psc.RunAsNonRoot, false), "seccomp": seccompType(psc.SeccompProfile)}
	if diff := cmp.Diff(map[string]any{"runAsNonRoot": true, "seccomp": corev1.SeccompProfileTypeRuntimeDefault}, gotPod); diff != "" {
		t.Errorf("pod securityContext (-want +got):\n%s", diff)
	}
	csc := ptr.Deref(c.SecurityContext, corev1.SecurityContext{})
	gotContainer := map[string]bool{
		"readOnlyRootFilesystem":   ptr.Deref(csc.ReadOnlyRootFilesystem, false),
		"allowPrivilegeEscalation": ptr.Deref(csc.AllowPrivilegeEscalation, true),
	}
	if diff := cmp.Diff(map[string]bool{"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false}, gotContainer); diff != "" {
		t.Errorf("container securityContext (-want +got):\n%s", diff)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if got, want := env["GOMEMLIMIT"], "483183820"; got != want {
		t.Errorf("GOMEMLIMIT = %q, want %q (90%% of 512Mi)", got, want)
	}
}

func seccompType(p *corev1.SeccompProfile) corev1.SeccompProfileType {
	if p == nil {
		return ""
	}
	return p.Type
}

// checkUpgradeKeepsHandEdits sets a field of the KubeFedConfig that the values do not set,
// upgrades with a value set, and checks that the KubeFedConfig has both.
func checkUpgradeKeepsHandEdits(t *testing.T, h *helmRunner, a *framework.Applier) {
	t.Helper()
	ctx := t.Context()
	r, err := a.Resource(kubeFedConfig)
	if err != nil {
		t.Fatal(err)
	}
	patch := []byte(`{"spec":{"clusterHealthCheck":{"period":"17s"}}}`)
	if _, err := r.Patch(ctx, "kubefed", types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatalf("failed to edit the KubeFedConfig: %v", err)
	}
	h.run(t, "upgrade", release, framework.ChartDir(), "--namespace", namespace,
		"--set", "controllermanager.syncController.maxConcurrentReconciles=3")
	live, err := get(ctx, a, kubeFedConfig)
	if err != nil || live == nil {
		t.Fatalf("the KubeFedConfig after the upgrade: %v, %v", live, err)
	}
	period, _, _ := unstructured.NestedString(live.Object, "spec", "clusterHealthCheck", "period")
	reconciles, _, _ := unstructured.NestedInt64(live.Object, "spec", "syncController", "maxConcurrentReconciles")
	got := map[string]any{"clusterHealthCheck.period": period, "syncController.maxConcurrentReconciles": reconciles}
	want := map[string]any{"clusterHealthCheck.period": "17s", "syncController.maxConcurrentReconciles": int64(3)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the KubeFedConfig after the upgrade (-want +got):\n%s", diff)
	}
}

// checkUninstalled checks that uninstall removed the release's objects but left the CRDs, the
// federated object fcm and the release's namespace.
func checkUninstalled(t *testing.T, a *framework.Applier, objs []*unstructured.Unstructured, fcm *unstructured.Unstructured) {
	t.Helper()
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": namespace}}}
	for _, o := range append([]*unstructured.Unstructured{fcm, ns}, objs...) {
		wantKept := o == fcm || o == ns || o.GetKind() == "CustomResourceDefinition"
		var live *unstructured.Unstructured
		err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			var err error
			live, err = get(ctx, a, o)
			return err == nil && (wantKept || live == nil), nil
		})
		switch {
		case wantKept && (err != nil || live == nil):
			t.Errorf("%s %s/%s is gone after uninstall, want it kept", o.GetKind(), o.GetNamespace(), o.GetName())
		case !wantKept && err != nil:
			t.Errorf("%s %s/%s is still there after uninstall, want it removed", o.GetKind(), o.GetNamespace(), o.GetName())
		}
	}
}
