package charttest

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files from helm template's output")

// chartDir is the chart under test, relative to this package.
const chartDir = "../../charts/fedplane"

// templates are the chart's templates whose rendering the golden files hold.
var templates = []string{
	"templates/serviceaccount.yaml",
	"templates/deployment.yaml",
	"templates/service.yaml",
	"templates/kubefedconfig.yaml",
	"templates/federatedtypeconfigs.yaml",
	"templates/rbac.yaml",
}

// helm is the helm binary of FEDPLANE_LAB_BIN. The test fails when it is missing and
// FEDPLANE_LAB_REQUIRED=1, and is skipped otherwise.
func helm(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FEDPLANE_LAB_BIN")
	p := filepath.Join(dir, "helm")
	if _, err := os.Stat(p); dir == "" || err != nil { //nolint:gosec // FEDPLANE_LAB_BIN is trusted test configuration.
		if os.Getenv("FEDPLANE_LAB_REQUIRED") == "1" {
			t.Fatalf("helm is missing from FEDPLANE_LAB_BIN (%q); run make bin/helm", os.Getenv("FEDPLANE_LAB_BIN"))
		}
		t.Skip("helm not found: set FEDPLANE_LAB_BIN to a directory holding helm (make test does)")
	}
	return p
}

// run runs helm with args and returns its standard output, or an error that holds its
// standard error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helm(t), args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), errors.New(err.Error() + ": " + stderr.String())
	}
	return string(out), nil
}

// template renders the chart as the release fedplane in kube-federation-system, with the extra
// arguments.
func template(t *testing.T, extra ...string) (string, error) {
	t.Helper()
	args := []string{"template", "fedplane", chartDir, "--namespace", "kube-federation-system"}
	return run(t, append(args, extra...)...)
}

func TestTemplateGolden(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		golden string
	}{
		{name: "default values", golden: "testdata/default.golden.yaml"},
		{name: "a KubeFed values file", args: []string{"-f", "testdata/kubefed-values.yaml"}, golden: "testdata/kubefed.golden.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string(nil), tc.args...)
			for _, tmpl := range templates {
				args = append(args, "--show-only", tmpl)
			}
			got, err := template(t, args...)
			if err != nil {
				t.Fatalf("helm template failed: %v", err)
			}
			if *update {
				if err := os.WriteFile(tc.golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tc.golden)
			if err != nil {
				t.Fatalf("failed to read the golden file (go test -update writes it): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("helm template differs from %s (-want +got; go test -update rewrites it):\n%s", tc.golden, diff)
			}
		})
	}
}

func TestLintStrict(t *testing.T) {
	for _, values := range []string{"", "testdata/kubefed-values.yaml"} {
		args := []string{"lint", "--strict", chartDir}
		if values != "" {
			args = append(args, "-f", values)
		}
		if out, err := run(t, args...); err != nil {
			t.Errorf("helm %s failed: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestTemplateRefusesBadValues(t *testing.T) {
	cases := []struct {
		name    string
		set     string
		message string
	}{
		{name: "a namespaced control plane", set: "global.scope=Namespaced", message: "global.scope: Namespaced is not supported"},
		{name: "a feature gate that is neither Enabled nor Disabled", set: "controllermanager.featureGates.PushReconciler=On", message: "/controllermanager/featureGates/PushReconciler"},
		{name: "an unknown feature gate", set: "controllermanager.featureGates.Teleport=Enabled", message: "Teleport"},
		{name: "a duration without a unit", set: "controllermanager.clusterHealthCheckPeriod=10", message: "/controllermanager/clusterHealthCheckPeriod"},
		{name: "a malformed duration", set: "controllermanager.leaderElectLeaseDuration=15 seconds", message: "/controllermanager/leaderElectLeaseDuration"},
		{name: "a threshold of 0", set: "controllermanager.clusterHealthCheckFailureThreshold=0", message: "/controllermanager/clusterHealthCheckFailureThreshold"},
		{name: "an unknown adoption mode", set: "controllermanager.syncController.adoptResources=Sometimes", message: "/controllermanager/syncController/adoptResources"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := template(t, "--set", tc.set)
			if err == nil {
				t.Fatalf("helm template --set %s succeeded, want an error naming the value; it rendered:\n%s", tc.set, out)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("helm template --set %s failed with %q, want it to say %q", tc.set, err, tc.message)
			}
		})
	}
}

func TestGoMemLimit(t *testing.T) {
	cases := []struct {
		name  string
		limit string
		want  string
	}{
		{name: "mebibytes are 90% of the limit", limit: "512Mi", want: "value: \"483183820\""},
		{name: "gibibytes", limit: "1Gi", want: "value: \"966367641\""},
		{name: "decimal megabytes", limit: "500M", want: "value: \"450000000\""},
		{name: "plain bytes", limit: "1000000", want: "value: \"900000\""},
		{name: "a fraction falls back to the downward API", limit: "0.5Gi", want: "resource: limits.memory"},
		{name: "no limit sets no GOMEMLIMIT", limit: "null", want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := template(t, "--show-only", "templates/deployment.yaml",
				"--set", "controllermanager.controller.resources.limits.memory="+tc.limit)
			if err != nil {
				t.Fatalf("helm template failed: %v", err)
			}
			env := envBlock(out)
			if tc.want == "" {
				if strings.Contains(env, "GOMEMLIMIT") {
					t.Errorf("GOMEMLIMIT is set without a memory limit:\n%s", env)
				}
				return
			}
			if !strings.Contains(env, "GOMEMLIMIT") || !strings.Contains(env, tc.want) {
				t.Errorf("the container's env does not set GOMEMLIMIT with %q:\n%s", tc.want, env)
			}
		})
	}
}

// envBlock is the env list of the rendered Deployment's container, up to its ports.
func envBlock(deployment string) string {
	start := strings.Index(deployment, "env:")
	if start < 0 {
		return ""
	}
	end := strings.Index(deployment[start:], "ports:")
	if end < 0 {
		return deployment[start:]
	}
	return deployment[start : start+end]
}
