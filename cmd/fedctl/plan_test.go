package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/fedplane/fedplane/internal/testfixtures"
	"github.com/fedplane/fedplane/pkg/manifests"
	"github.com/fedplane/fedplane/pkg/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The seed inputs of the plan tests.
func seedManifests(t *testing.T) string { return testfixtures.Path(t, "seed", "manifests") }
func readyClusters(t *testing.T) string {
	return testfixtures.Path(t, "seed", "clusters", "ready.yaml")
}
func cceDown(t *testing.T) string { return testfixtures.Path(t, "seed", "clusters", "cce-down.yaml") }

// fedctl runs fedctl with args and returns its output and error.
func fedctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCommand(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func TestPlanGolden(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		golden string
	}{
		{name: "both clusters ready, json", args: []string{"-f", seedManifests(t), "-f", readyClusters(t), "-o", "json"}, golden: "plan-ready.json"},
		{name: "cce down, json", args: []string{"-f", seedManifests(t), "-f", cceDown(t), "-o", "json"}, golden: "plan-cce-down.json"},
		{name: "both clusters ready, table", args: []string{"-f", seedManifests(t), "-f", readyClusters(t)}, golden: "plan-ready.txt"},
		{name: "cce down, yaml", args: []string{"-f", seedManifests(t), "-f", cceDown(t), "-o", "yaml"}, golden: "plan-cce-down.yaml"},
		{
			name: "both clusters ready, with the control-plane id, json", golden: "plan-ready-id.json",
			args: []string{"-f", seedManifests(t), "-f", readyClusters(t), "-o", "json", "--control-plane-id", "fedplane-a"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fedctl(t, append([]string{"plan"}, tc.args...)...)
			if err != nil {
				t.Fatalf("fedctl plan: %v", err)
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/fedctl -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("fedctl plan output differs from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

func planJSON(t *testing.T, clusters string) plan.Plan {
	t.Helper()
	out, err := fedctl(t, "plan", "-f", seedManifests(t), "-f", clusters, "-o", "json")
	if err != nil {
		t.Fatalf("fedctl plan: %v", err)
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("output is not the JSON contract: %v\n%s", err, out)
	}
	return p
}

// replicasOf returns the replicas of each selected cluster of the named object.
func replicasOf(t *testing.T, p plan.Plan, name string) map[string]int64 {
	t.Helper()
	for _, it := range p.Items {
		if it.Name != name {
			continue
		}
		got := map[string]int64{}
		for _, c := range it.Clusters {
			if c.Replicas == nil {
				t.Fatalf("%s: cluster %s has no replicas", name, c.Name)
			}
			if c.Selected {
				got[c.Name] = *c.Replicas
			} else if *c.Replicas != 0 {
				t.Errorf("%s: cluster %s is not selected but has %d replicas", name, c.Name, *c.Replicas)
			}
		}
		return got
	}
	t.Fatalf("no item %s in the plan", name)
	return nil
}

func TestPlanGivesTheSeedReplicas(t *testing.T) {
	data, err := os.ReadFile(testfixtures.Path(t, "seed", "expected", "03-rsp.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ready map[string]map[string]int64
	if err := yaml.Unmarshal(data, &ready); err != nil {
		t.Fatal(err)
	}
	p := planJSON(t, readyClusters(t))
	for name, want := range ready {
		if diff := cmp.Diff(want, replicasOf(t, p, name)); diff != "" {
			t.Errorf("%s with both clusters ready (-want +got):\n%s", name, diff)
		}
	}
	// The cce-down figures of expected/03-rsp.yaml, which gives them in a comment.
	down := map[string]map[string]int64{
		"rsp-even":   {"local": 8},
		"rsp-minmax": {"local": 6},
		"rsp-capped": {"local": 20},
	}
	p = planJSON(t, cceDown(t))
	for name, want := range down {
		if diff := cmp.Diff(want, replicasOf(t, p, name)); diff != "" {
			t.Errorf("%s with cce down (-want +got):\n%s", name, diff)
		}
	}
}

func TestPlanRendersTheSeedOverrides(t *testing.T) {
	p := planJSON(t, readyClusters(t))
	type rendered struct {
		Replicas      int64
		Image         string
		Args          []string
		HasAnnotation bool
	}
	want := map[string]rendered{
		"local": {Replicas: 3, Image: "nginx:1.25", Args: []string{"-g", "daemon off;"}},
		"cce":   {Replicas: 5, Image: "nginx:1.17.0-alpine", Args: []string{"-q", "-g", "daemon off;"}},
	}
	got := map[string]rendered{}
	for _, it := range p.Items {
		if it.Name != "test-deployment" {
			continue
		}
		for _, c := range it.Clusters {
			if c.Object == nil {
				t.Fatalf("cluster %s has no rendered object", c.Name)
			}
			b, _ := json.Marshal(c.Object)
			var d struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
				Spec struct {
					Replicas int64 `json:"replicas"`
					Template struct {
						Spec struct {
							Containers []struct {
								Image string   `json:"image"`
								Args  []string `json:"args"`
							} `json:"containers"`
						} `json:"spec"`
					} `json:"template"`
				} `json:"spec"`
			}
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatal(err)
			}
			_, foo := d.Metadata.Annotations["foo"]
			got[c.Name] = rendered{Replicas: d.Spec.Replicas, Image: d.Spec.Template.Spec.Containers[0].Image, Args: d.Spec.Template.Spec.Containers[0].Args, HasAnnotation: foo}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rendered test-deployment (-want +got):\n%s", diff)
	}
}

func TestPlanRefusesInvalidInputNamingFileAndField(t *testing.T) {
	cases := map[string]string{
		"override-bad-op.yaml":  "spec.overrides[0].clusterOverrides[0].op",
		"rsp-min-over-max.yaml": "spec.clusters[local].minReplicas",
		"cluster-bad-tls.yaml":  "spec.disabledTLSValidations",
	}
	for file, field := range cases {
		t.Run(file, func(t *testing.T) {
			path := testfixtures.Path(t, "invalid", file)
			_, err := fedctl(t, "plan", "-f", path, "-f", readyClusters(t))
			if err == nil {
				t.Fatal("fedctl plan accepted invalid input")
			}
			for _, want := range []string{path, field} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
		})
	}
}

func TestPlanRefusesUnknownOutputFormat(t *testing.T) {
	if _, err := fedctl(t, "plan", "-f", readyClusters(t), "-o", "xml"); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("got %v, want an error naming the format", err)
	}
}

// fedctlStdin runs fedctl with args and stdin as its standard input.
func fedctlStdin(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCommand(&out, &errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

// asLiveList turns the manifests under paths into one v1 List, as kubectl get -o yaml prints a
// live host: every item with the metadata the API server adds.
func asLiveList(t *testing.T, paths ...string) string {
	t.Helper()
	objs, err := manifests.Load(paths...)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]any, 0, len(objs))
	for i, o := range objs {
		u := o.Object.DeepCopy()
		u.SetUID(types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012d", i)))
		u.SetResourceVersion(fmt.Sprint(1000 + i))
		u.SetGeneration(1)
		u.SetCreationTimestamp(metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, APIVersion: u.GetAPIVersion()}})
		items = append(items, u.Object)
	}
	b, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}, "items": items})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPlanReadsAListFromStandardInput(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "plan-ready.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := fedctlStdin(t, asLiveList(t, seedManifests(t), readyClusters(t)), "plan", "-f", "-", "-o", "json")
	if err != nil {
		t.Fatalf("fedctl plan -f -: %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("the plan of the same objects as a live List on standard input differs from plan-ready.json (-want +got):\n%s", diff)
	}
}

func TestPlanNamesTheListItemOfAnInvalidObject(t *testing.T) {
	list := `apiVersion: v1
kind: List
items:
- apiVersion: core.kubefed.io/v1beta1
  kind: KubeFedCluster
  metadata: {name: cce, namespace: kube-federation-system}
  spec: {apiEndpoint: "https://cce", secretRef: {name: cce}, disabledTLSValidations: [Bogus]}
`
	_, err := fedctlStdin(t, list, "plan", "-f", "-")
	if err == nil {
		t.Fatal("fedctl plan accepted invalid input")
	}
	for _, want := range []string{"standard input (document 1, item 1)", "spec.disabledTLSValidations"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestPlanTakesTheControlPlaneIDFromTheNamespace(t *testing.T) {
	namespace := func(name, uid string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, uid: %s}\n", name, uid)
	}
	cases := []struct {
		name        string
		namespaces  string
		args        []string
		wantID      string
		wantWarning bool
	}{
		{name: "the UID of kube-federation-system in the input", namespaces: namespace("kube-federation-system", "uid-kfs"), wantID: "uid-kfs"},
		{
			name: "the UID of the --kubefed-namespace namespace", namespaces: namespace("kube-federation-system", "uid-kfs") + "---\n" + namespace("fed", "uid-fed"),
			args: []string{"--kubefed-namespace", "fed"}, wantID: "uid-fed",
		},
		{name: "--control-plane-id wins", namespaces: namespace("kube-federation-system", "uid-kfs"), args: []string{"--control-plane-id", "given"}, wantID: "given"},
		{name: "no id and no namespace: a warning", namespaces: namespace("other", "uid-other"), wantWarning: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"plan", "-f", "-", "-f", seedManifests(t), "-f", readyClusters(t), "-o", "json"}, tc.args...)
			out, err := fedctlStdin(t, tc.namespaces, args...)
			if err != nil {
				t.Fatalf("fedctl plan: %v", err)
			}
			var p plan.Plan
			if err := json.Unmarshal([]byte(out), &p); err != nil {
				t.Fatal(err)
			}
			if got := len(p.Warnings) > 0; got != tc.wantWarning {
				t.Errorf("plan warnings %v, want some: %t", p.Warnings, tc.wantWarning)
			}
			for _, it := range p.Items {
				for _, c := range it.Clusters {
					meta, _ := c.Object["metadata"].(map[string]any)
					annotations, _ := meta["annotations"].(map[string]any)
					if got, _ := annotations["fedplane.io/control-plane-id"].(string); got != tc.wantID {
						t.Fatalf("%s in cluster %s: control-plane id %q, want %q", it.Name, c.Name, got, tc.wantID)
					}
				}
			}
		})
	}
}

func TestPlanTablePrintsTheWarnings(t *testing.T) {
	cm := `apiVersion: types.kubefed.io/v1beta1
kind: FederatedClusterRole
metadata: {name: reader}
spec:
  template:
    metadata:
      annotations: {note: x}
  placement:
    clusters: [{name: local}, {name: cce}]
`
	out, err := fedctlStdin(t, cm, "plan", "-f", "-", "-f", readyClusters(t))
	if err != nil {
		t.Fatalf("fedctl plan: %v", err)
	}
	for _, want := range []string{
		"  warning (cce, local): metadata.annotations is not propagated from the template",
		"\nwarning: the control-plane id is not known",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
}
