package install_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

var lab *framework.Lab

// TestMain starts a lab of a host only, with nothing of fedplane installed: helm installs it.
func TestMain(m *testing.M) {
	os.Exit(framework.RunWithLab(m, framework.Options{}, &lab))
}

const (
	release   = "fedplane"
	namespace = corev1beta1.DefaultNamespace
)

// TestHelmInstallUpgradeUninstall installs the chart with helm as docs/install.md says, checks
// every object it creates, edits the KubeFedConfig by hand, upgrades with a value set, and
// uninstalls.
//
// What uninstall removes, as this test checks: every object of the release's manifest (the
// KubeFedConfig `kubefed`, the 10 FederatedTypeConfigs, the Deployment, the Service, the
// ServiceAccount and the RBAC objects). What stays: the CRDs of crds/ (Helm never deletes
// them), so every federated object and the member copies it propagated stay too, and the
// namespace that --create-namespace made.
func TestHelmInstallUpgradeUninstall(t *testing.T) {
	framework.Require(t, lab)
	ctx := t.Context()
	cs, err := lab.Host().Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace %s exists before helm install (err %v): the test needs an empty host", namespace, err)
	}
	applier, err := framework.NewApplier(lab.Host().RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := newHelm(t)
	_, installTook := h.run(t, "install", release, framework.ChartDir(), "--namespace", namespace, "--create-namespace")
	objs := releaseObjects(t, h, release, namespace)
	logTable(t, objs)
	started := time.Now()
	checkInstalled(t, applier, objs)
	t.Logf("install: helm %s; every object present and CRDs established %s later",
		installTook.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
	checkDeployment(t, cs.AppsV1())

	checkUpgradeKeepsHandEdits(t, h, applier)

	fcm := framework.FederatedConfigMap("install-test", "kept", map[string]any{"k": "v"})
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "install-test"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := applier.Create(ctx, fcm); err != nil {
		t.Fatalf("failed to create FederatedConfigMap: %v", err)
	}
	h.run(t, "uninstall", release, "--namespace", namespace, "--wait")
	checkUninstalled(t, applier, objs, fcm)
}

// checkInstalled waits for every object of the release to exist and for the CRDs to be
// established, then checks that the release has what the chart promises.
func checkInstalled(t *testing.T, a *framework.Applier, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			live, err := get(ctx, a, o)
			if err != nil || live == nil {
				return false, nil //nolint:nilerr // Discovery lags behind a new CRD: poll again.
			}
			return o.GetKind() != "CustomResourceDefinition" || established(live), nil
		})
		if err != nil {
			t.Errorf("%s %s/%s is not there (or not established): %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	kinds := countKinds(objs)
	want := map[string]int{"CustomResourceDefinition": 16, "FederatedTypeConfig": 10, "KubeFedConfig": 1, "Deployment": 1, "ServiceAccount": 1, "Role": 1, "RoleBinding": 1, "Service": 1}
	for kind, n := range want {
		if kinds[kind] != n {
			t.Errorf("the release has %d %s, want %d", kinds[kind], kind, n)
		}
	}
	for _, kind := range []string{"ClusterRole", "ClusterRoleBinding"} {
		if kinds[kind] == 0 {
			t.Errorf("the release has no %s", kind)
		}
	}
	if !slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool {
		return o.GetKind() == "KubeFedConfig" && o.GetName() == "kubefed"
	}) {
		t.Error("the release has no KubeFedConfig kubefed")
	}
}
