package framework

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/manifests"
)

// EnvControllerIdentity chooses the identity of every fed-controller the framework starts:
// empty means the host's admin token, "chart" the ServiceAccount and RBAC of the Helm chart.
const EnvControllerIdentity = "FEDPLANE_E2E_CONTROLLER_IDENTITY"

// ChartRelease is the release name under which ChartIdentity installs the chart's RBAC.
const ChartRelease = "fedplane"

// ChartServiceAccount is the name of fed-controller's ServiceAccount in the ChartRelease.
const ChartServiceAccount = ChartRelease + "-controller"

// identityFieldManager owns what ChartIdentity applies.
const identityFieldManager = "fedplane-e2e-identity"

// controllerToken returns the token fed-controller runs with against host: the admin token,
// unless EnvControllerIdentity asks for the chart's identity.
// The chart is rendered with the values that grant what the flags extra turn on
// (--auto-federate: autoFederate.types), as a user who turns them on with the chart would.
func controllerToken(ctx context.Context, host *Cluster, extra []string) (string, error) {
	switch v := os.Getenv(EnvControllerIdentity); v {
	case "":
		return host.Token(), nil
	case "chart":
		var values []string
		if types, ok := flagValue(extra, "auto-federate"); ok && types != "" {
			values = append(values, "autoFederate.types={"+types+"}")
		}
		return ChartIdentity(ctx, host, values...)
	default:
		return "", fmt.Errorf("%s=%q: want empty or chart", EnvControllerIdentity, v)
	}
}

// ChartIdentity renders the chart's ServiceAccount and RBAC (templates/serviceaccount.yaml and
// templates/rbac.yaml) with bin/helm, applies them to host in the control plane's namespace, and
// returns a token of the ServiceAccount from the TokenRequest API. values are helm --set values.
// It can be run again, with other values.
func ChartIdentity(ctx context.Context, host *Cluster, values ...string) (string, error) {
	objs, err := RenderChartWith(ctx, values, "templates/serviceaccount.yaml", "templates/rbac.yaml")
	if err != nil {
		return "", err
	}
	cs, err := host.Clientset()
	if err != nil {
		return "", err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: corev1beta1.DefaultNamespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("failed to create namespace %s: %w", ns.Name, err)
	}
	applier, err := NewApplier(host.RESTConfig())
	if err != nil {
		return "", err
	}
	hasSA := false
	for _, o := range objs {
		hasSA = hasSA || o.GetKind() == "ServiceAccount"
		if _, err := applier.Apply(ctx, o, identityFieldManager); err != nil {
			return "", fmt.Errorf("failed to apply the chart's %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	if !hasSA {
		// The chart has no ServiceAccount template yet: create the one its bindings name.
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ChartServiceAccount, Namespace: corev1beta1.DefaultNamespace}}
		if _, err := cs.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return "", fmt.Errorf("failed to create ServiceAccount %s: %w", sa.Name, err)
		}
	}
	tr, err := cs.CoreV1().ServiceAccounts(corev1beta1.DefaultNamespace).CreateToken(ctx, ChartServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](4 * 3600)}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to request a token of ServiceAccount %s: %w", ChartServiceAccount, err)
	}
	return tr.Status.Token, nil
}

// RenderChart renders the chart's templates that exist among templates (paths inside the chart)
// with `helm template`, the helm of FEDPLANE_LAB_BIN, release ChartRelease in the control
// plane's namespace, and decodes the objects.
func RenderChart(ctx context.Context, templates ...string) ([]*unstructured.Unstructured, error) {
	return RenderChartWith(ctx, nil, templates...)
}

// RenderChartWith is RenderChart with helm --set values.
func RenderChartWith(ctx context.Context, values []string, templates ...string) ([]*unstructured.Unstructured, error) {
	dir := os.Getenv(EnvBinDir)
	if dir == "" {
		return nil, errNoBinaries
	}
	chart := ChartDir()
	args := []string{"template", ChartRelease, chart, "--namespace", corev1beta1.DefaultNamespace}
	for _, v := range values {
		args = append(args, "--set", v)
	}
	for _, t := range templates {
		if _, err := os.Stat(filepath.Join(chart, t)); err == nil {
			args = append(args, "--show-only", t)
		}
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "helm"), args...) //nolint:gosec // The lab's own helm, named by the test environment.
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("failed to render the chart: %w: %s", err, stderr.String())
	}
	objs, err := manifests.Decode(out)
	if err != nil {
		return nil, fmt.Errorf("failed to decode the rendered chart: %w", err)
	}
	return objs, nil
}

// ChartDir is the path of the fedplane chart in this module.
func ChartDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "fedplane")
}
