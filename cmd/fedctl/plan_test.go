package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/fedplane/fedplane/internal/testfixtures"
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
