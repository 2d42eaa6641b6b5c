package install_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/manifests"
)

// helmRunner runs the lab's bin/helm against the lab host, with Helm's cache, configuration
// and data in a directory of the test.
type helmRunner struct {
	bin string
	env []string
}

func newHelm(t *testing.T) *helmRunner {
	t.Helper()
	home := t.TempDir()
	env := append(os.Environ(),
		"KUBECONFIG="+lab.KubeconfigPath(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	return &helmRunner{bin: filepath.Join(os.Getenv(framework.EnvBinDir), "helm"), env: env}
}

// run runs helm with args in the host's context and returns its standard output and how long
// it took; a failure fails the test with helm's standard error.
func (h *helmRunner) run(t *testing.T, args ...string) ([]byte, time.Duration) {
	t.Helper()
	args = append(args, "--kube-context", framework.HostName)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), h.bin, args...)
	cmd.Env, cmd.Stderr = h.env, &stderr
	started := time.Now()
	out, err := cmd.Output()
	took := time.Since(started)
	if err != nil {
		t.Fatalf("helm %s failed: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	t.Logf("helm %s: %s", args[0], took.Round(time.Millisecond))
	return out, took
}

// releaseObjects returns the objects of the release, from `helm get manifest`, and the CRDs
// of the chart's crds/ directory, which Helm installs but does not list in the manifest.
func releaseObjects(t *testing.T, h *helmRunner, release, namespace string) []*unstructured.Unstructured {
	t.Helper()
	out, _ := h.run(t, "get", "manifest", release, "--namespace", namespace)
	objs, err := manifests.Decode(out)
	if err != nil {
		t.Fatalf("failed to decode the release's manifest: %v", err)
	}
	crds, err := manifests.Load(filepath.Join(framework.ChartDir(), "crds"))
	if err != nil {
		t.Fatalf("failed to load the chart's CRDs: %v", err)
	}
	for _, c := range crds {
		objs = append(objs, c.Object)
	}
	return objs
}

// logTable logs the objects as a table of kind, namespace and name, sorted.
func logTable(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	rows := make([]string, 0, len(objs))
	for _, o := range objs {
		ns := o.GetNamespace()
		if ns == "" {
			ns = "-"
		}
		rows = append(rows, fmt.Sprintf("%s\t%s\t%s", o.GetKind(), ns, o.GetName()))
	}
	sort.Strings(rows)
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tNAMESPACE\tNAME")
	for _, r := range rows {
		fmt.Fprintln(w, r)
	}
	_ = w.Flush()
	t.Logf("%d objects of the release:\n%s", len(objs), b.String())
}

// countKinds counts the objects of each kind.
func countKinds(objs []*unstructured.Unstructured) map[string]int {
	n := map[string]int{}
	for _, o := range objs {
		n[o.GetKind()]++
	}
	return n
}

// get reads obj's live copy from the host; a missing object is (nil, nil).
func get(ctx context.Context, a *framework.Applier, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	r, err := a.Resource(obj)
	if err != nil {
		return nil, err
	}
	live, err := r.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return live, nil
}

// established tells whether the live CRD has the condition Established=True.
func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
