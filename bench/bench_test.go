package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/federate"
	"github.com/fedplane/fedplane/pkg/hostview"
	"github.com/fedplane/fedplane/pkg/overrides"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, 0, len(v))
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 ... 1, out of order
	}
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{name: "no samples", samples: nil, p: 50, want: 0},
		{name: "one sample", samples: ms(7), p: 99, want: 7 * time.Millisecond},
		{name: "median of four is the second", samples: ms(4, 1, 3, 2), p: 50, want: 2 * time.Millisecond},
		{name: "p99 of 100 is the 99th", samples: ms(hundred...), p: 99, want: 99 * time.Millisecond},
		{name: "p50 of 100 is the 50th", samples: ms(hundred...), p: 50, want: 50 * time.Millisecond},
		{name: "p100 is the largest", samples: ms(hundred...), p: 100, want: 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.samples, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command name holds a space and a parenthesis, as /proc allows.
	stat := "4242 (fed (ctl) x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 566 0 0 20 0 12 0 100 0 0"
	got, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if got != 18.0 {
		t.Errorf("parseStatCPU = %v, want 18 (1234+566 ticks)", got)
	}
	if _, err := parseStatCPU("4242 no parenthesis"); err == nil {
		t.Error("parseStatCPU accepted a line without the command name")
	}
}

func TestParseStatusMemory(t *testing.T) {
	status := "Name:\tfed-controller\nVmHWM:\t  153600 kB\nVmRSS:\t  102400 kB\nThreads:\t12\n"
	rss, peak, err := parseStatusMemory(status)
	if err != nil {
		t.Fatal(err)
	}
	if rss != 100 || peak != 150 {
		t.Errorf("parseStatusMemory = %v, %v MB, want 100, 150", rss, peak)
	}
	if _, _, err := parseStatusMemory("Name:\tx\n"); err == nil {
		t.Error("parseStatusMemory accepted a status without VmRSS and VmHWM")
	}
}

func TestParseRequestCounts(t *testing.T) {
	metrics := `# HELP apiserver_request_total x
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 10
apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="x",resource="federatedconfigmaps",scope="resource",subresource="status",verb="PATCH",version="v1beta1"} 5
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="WATCH",version="v1"} 3
apiserver_request_duration_seconds_count{resource="configmaps",verb="POST"} 12
`
	before := map[string]float64{"configmaps POST": 4}
	got := diffCounts(before, parseRequestCounts(metrics))
	want := []string{"configmaps POST: 8", "federatedconfigmaps PATCH status: 5"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request counts (-want +got):\n%s", diff)
	}
}

func TestMemberObjectMatchesWhatTheControllerRenders(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.Name, func(t *testing.T) {
			// What fed-controller writes: the federated object rendered for cluster a with
			// pkg/overrides, plus its control-plane annotation.
			fed := k.federated("ns", 3, 2, []string{"a", "b"})
			var spec typesv1beta1.FederatedSpec
			if err := hostview.FromUnstructured(fed.Object["spec"], &spec); err != nil {
				t.Fatal(err)
			}
			ops, err := overrides.ForCluster(spec.Overrides, "a")
			if err != nil {
				t.Fatal(err)
			}
			out, err := overrides.Render(overrides.Input{
				Template: fed.Object["spec"].(map[string]any)["template"].(map[string]any), APIVersion: k.Target.GroupVersion().String(),
				Kind: k.Target.Kind, Name: fed.GetName(), Namespace: "ns", Namespaced: true, Overrides: ops,
			})
			if err != nil {
				t.Fatal(err)
			}
			rendered := out.Object
			rendered.SetAnnotations(map[string]string{contract.ControlPlaneAnnotation: "id"})
			if err := k.contentMatches(rendered, 2, "a"); err != nil {
				t.Errorf("the rendered object does not match: %v", err)
			}

			obj := k.member("ns", 3, 2, "a", "id")
			if !federate.Matches(rendered, obj) {
				t.Errorf("the plain writer's object lacks fields fed-controller writes:\nrendered %v\nwriter   %v", rendered.Object, obj.Object)
			}
			if err := k.contentMatches(obj, 2, "a"); err != nil {
				t.Errorf("the plain writer's object does not match: %v", err)
			}
			if err := k.contentMatches(obj, 1, "a"); err == nil {
				t.Error("an object at version 2 matched version 1")
			}
			if err := k.contentMatches(obj, 2, "b"); err == nil {
				t.Error("cluster a's object matched cluster b")
			}
			changed := obj.DeepCopy()
			if k.Name == "ConfigMap" {
				_ = unstructured.SetNestedField(changed.Object, "other", "data", "settings.yaml")
			} else {
				_ = unstructured.SetNestedField(changed.Object, int64(3), "spec", "replicas")
			}
			if err := k.contentMatches(changed, 2, "a"); err == nil {
				t.Error("an object whose body differs from the template matched")
			}
		})
	}
}

// labBinaries is the lab binaries' directory, from the environment `make test` sets.
func labBinaries(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(framework.EnvBinDir)
	if dir == "" {
		if os.Getenv(framework.EnvRequired) != "" {
			t.Fatalf("%s is not set", framework.EnvBinDir)
		}
		t.Skipf("%s is not set: run with `make test`", framework.EnvBinDir)
	}
	return dir
}

// TestBenchRunsOnALab runs the whole bench at a small size, so that `make bench` keeps
// working: every phase completes, nothing is written while idle, and the result is saved and
// summed up in the documented form.
func TestBenchRunsOnALab(t *testing.T) {
	bin := labBinaries(t)
	controller, err := framework.BuildController(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	results := t.TempDir()
	c, err := parseFlags([]string{"-bin", bin, "-controller", controller, "-results", results,
		"-n", "20", "-m", "2", "-updates", "5", "-idle", "3s", "-timeout", "3m"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	b, err := newBench(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	res, err := b.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.LimitSeconds <= 0 || res.ConvergeSeconds <= 0 || res.DeleteSeconds <= 0 || res.CPUSeconds <= 0 || res.PeakRSSMB <= 0 {
		t.Errorf("a figure is missing: %+v", res)
	}
	if res.MemberLimitSeconds <= 0 || res.MemberRatio <= 0 || len(res.MemberLimitRuns) != 2 {
		t.Errorf("the member limit is missing: %v s over runs %v, ratio %v", res.MemberLimitSeconds, res.MemberLimitRuns, res.MemberRatio)
	}
	if len(res.RequestCosts) != 7 {
		t.Errorf("request costs: %d kinds, want 7: %+v", len(res.RequestCosts), res.RequestCosts)
	}
	for _, c := range res.RequestCosts {
		if c.Requests != 20 || c.APIServerMillis <= 0 || c.PerSecond <= 0 {
			t.Errorf("request cost %+v: want 20 requests, with CPU and a rate", c)
		}
	}
	if res.UpdateSamples != 5 || res.UpdateFailures != 0 {
		t.Errorf("updates: %d timed, %d lost; want 5 and 0", res.UpdateSamples, res.UpdateFailures)
	}
	if res.IdleMemberWrites != 0 {
		t.Errorf("fed-controller wrote %d times to members while idle", res.IdleMemberWrites)
	}
	if res.MemberWrites < 20*2 {
		t.Errorf("fed-controller made %d member writes; the 40 creates alone are more", res.MemberWrites)
	}
	summary := regexp.MustCompile(`^bench: kind=ConfigMap N=20 M=2 limit=[0-9.]+s converge=[0-9.]+s ratio=[0-9.]+ member_ratio=[0-9.]+ update_p50=[0-9]+ms update_p99=[0-9]+ms idle_writes=0 cpu=[0-9.]+s peak_rss=[0-9]+MB delete=[0-9.]+s$`)
	if line := res.Summary(); !summary.MatchString(line) {
		t.Errorf("summary line %q is not in the documented form", line)
	}
	path, err := res.Save(results)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var saved Result
	if err := json.Unmarshal(raw, &saved); err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	if saved.Params.N != 20 || saved.Machine.CPUs == 0 || saved.Versions.Kubernetes == "" {
		t.Errorf("the saved result lacks the parameters, machine or versions: %+v %+v %+v", saved.Params, saved.Machine, saved.Versions)
	}
}

func TestObjectSize(t *testing.T) {
	for _, size := range []int{1, 500, 1024, 64 * 1024} {
		k := kinds["ConfigMap"]
		k.size = size
		got := len(k.body(1, k.size)["data"].(map[string]any)["settings.yaml"].(string))
		if got < size || got > size+len("key: value # padding\n") {
			t.Errorf("-object-size %d gives %d bytes of data", size, got)
		}
	}
	if got := len(padding(0)); got < defaultObjectSize {
		t.Errorf("the default object holds %d bytes, want at least %d", got, defaultObjectSize)
	}
}

func TestParseFlagsRefusesBadObjectSizes(t *testing.T) {
	for _, args := range [][]string{
		{"-object-size", "0"},
		{"-object-size", "600000"},
		{"-kind", "Deployment", "-object-size", "1024"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) accepted it", args)
		}
	}
	c, err := parseFlags([]string{"-object-size", "65536"})
	if err != nil || c.objectSize != 65536 {
		t.Errorf("parseFlags(-object-size 65536) = %+v, %v", c, err)
	}
}

func TestReplaceCRDsWithKubeFeds(t *testing.T) {
	kubefed := filepath.Join("..", "..", "shared", "kubefed-e2e", "src", "charts", "kubefed", "crds", "crds.yaml")
	if _, err := os.Stat(kubefed); err != nil {
		t.Skipf("no KubeFed source beside the checkout: %v", err)
	}
	bin := labBinaries(t)
	c, err := parseFlags([]string{"-bin", bin, "-controller", os.Args[0], "-results", t.TempDir(), "-n", "10", "-updates", "0", "-only-request-costs", "-crds", kubefed})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	b, err := newBench(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	crd, err := b.hostDyn.Resource(crdResource).Get(ctx, "federatedconfigmaps.types.kubefed.io", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// KubeFed's schema leaves the template untyped; fedplane's types it.
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	preserve, _, _ := unstructured.NestedBool(versions[0].(map[string]any), "schema", "openAPIV3Schema", "properties", "spec", "properties", "template", "x-kubernetes-preserve-unknown-fields")
	if !preserve {
		t.Error("the installed FederatedConfigMap CRD is not KubeFed's: its template is typed")
	}
	res, err := b.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.RequestCosts) != 7 || res.ConvergeSeconds != 0 {
		t.Errorf("-only-request-costs: %d request costs and converge %v, want 7 and no converge", len(res.RequestCosts), res.ConvergeSeconds)
	}
}

func TestAFailedRunIsSavedAsFailed(t *testing.T) {
	dir := t.TempDir()
	started := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	res := &Result{Started: started, Params: Params{Kind: "ConfigMap", N: 10, M: 2}, PeakRSSMB: 42, FailedPhase: "update", Error: "1 of 5 changes did not reach every member within 30s"}
	path, err := res.Save(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "20261203T120000Z-configmap-N10-M2-failed.json"); path != want {
		t.Errorf("path = %s, want %s", path, want)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.FailedPhase != "update" || back.Error != res.Error || back.PeakRSSMB != 42 {
		t.Errorf("saved failedPhase=%q error=%q peakRSSMB=%v, want the run's", back.FailedPhase, back.Error, back.PeakRSSMB)
	}
	res.FailedPhase, res.Error = "", ""
	if path, err := res.Save(dir); err != nil || filepath.Base(path) != "20261203T120000Z-configmap-N10-M2.json" {
		t.Errorf("a run that did not fail saved as %s (%v)", path, err)
	}
}

// copyAt is a member's copy of the bench's object name at version.
func copyAt(name, cluster string, version int) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetName(name)
	u.SetLabels(map[string]string{versionLabel: strconv.Itoa(version), clusterLabel: cluster})
	return u
}

func TestTrackerTellsWhenTheFirstAndLastMemberHadAVersion(t *testing.T) {
	tr := emptyTracker("m1", "m2")
	tr.record("m1", copyAt("a", "m1", 1), false)
	tr.record("m2", copyAt("a", "m2", 1), false)
	before := time.Now()
	tr.record("m1", copyAt("a", "m1", 2), false)
	time.Sleep(10 * time.Millisecond)
	tr.record("m2", copyAt("a", "m2", 2), false)
	mid := time.Now()
	time.Sleep(10 * time.Millisecond)
	// A resync of the same version does not move when the member had it.
	tr.record("m1", copyAt("a", "m1", 2), false)
	first, last, err := tr.waitObject(time.Now().Add(time.Second), "a", 2)
	if err != nil {
		t.Fatal(err)
	}
	if first.Before(before) || !first.Before(last) || last.After(mid) {
		t.Errorf("first %v, last %v; want before <= first < last <= mid (%v, %v)", first, last, before, mid)
	}
}

func TestTrackerCountsWhatItRecorded(t *testing.T) {
	tr := emptyTracker("m1", "m2")
	tr.record("m1", copyAt("a", "m1", 1), false)
	tr.record("m1", copyAt("b", "m1", 1), false)
	tr.record("m2", copyAt("a", "m2", 1), false)
	tr.record("m2", copyAt("a", "m2", 2), false) // an update
	tr.record("m1", copyAt("b", "m1", 1), true)  // a deletion
	if held, right := tr.counts(1); held != 2 || right != 1 {
		t.Errorf("counts(1) = %d held, %d right; want 2 and 1", held, right)
	}
	if _, right := tr.counts(2); right != 1 {
		t.Errorf("counts(2) right = %d, want 1", right)
	}
}

func TestTheIdleWindowWaitsForTheWritesToStop(t *testing.T) {
	ctx := context.Background()
	// Writes that go on for five polls, then stop.
	n := 0
	count := func() (int, error) {
		if n < 5 {
			n++
		}
		return n, nil
	}
	waited, quiet, err := settleWrites(ctx, count, 20*time.Millisecond, time.Second, 5*time.Millisecond)
	if err != nil || !quiet {
		t.Fatalf("settleWrites = %v, %v, %v; want quiet", waited, quiet, err)
	}
	if waited < 20*time.Millisecond {
		t.Errorf("waited %v, want at least the four polls the writes went on for", waited)
	}
	// Writes that never stop are measured as they are, after the longest wait.
	always := 0
	never := func() (int, error) { always++; return always, nil }
	if _, quiet, err := settleWrites(ctx, never, 20*time.Millisecond, 100*time.Millisecond, 5*time.Millisecond); err != nil || quiet {
		t.Errorf("settleWrites of endless writes: quiet %v, err %v; want not quiet", quiet, err)
	}
}
