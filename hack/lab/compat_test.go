package main

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseGinkgoReadsEachSpecsOutcomeAndTheSummary(t *testing.T) {
	f, err := os.Open("testdata/ginkgo-v.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var reported []string
	results, summary, err := parseGinkgo(f, func(r specResult) { reported = append(reported, r.Name) })
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct{ Name, Outcome string }
	var got []outcome
	for _, r := range results {
		got = append(got, outcome{r.Name, r.Outcome})
	}
	want := []outcome{
		{"DeleteOptions Deployment keeps its ReplicaSet", outcomeFail},
		{"Federate input yaml from a file, should emit equivalent federated resources", outcomePass},
		{"Core API Validation when running with namespace scoped deployment for FederatedTypeConfig should succeed outside the system namespace", outcomeSkip},
		{"Placement is quick", outcomePass},
		{"Scheduling fails in setup", outcomeFail},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if want := (ginkgoSummary{Found: true, Passed: 2, Failed: 2}); summary != want {
		t.Errorf("summary = %+v, want %+v", summary, want)
	}
	if len(reported) != len(results) {
		t.Errorf("reported %d results as they were read, want %d", len(reported), len(results))
	}
}

func TestTreeHashChangesWithContentAndName(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(dir+"/"+name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hash := func() string {
		t.Helper()
		h, err := treeHash(dir)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	write("a.go", "package a")
	first := hash()
	if again := hash(); again != first {
		t.Fatalf("the same tree hashed to %s and %s", first, again)
	}
	write("a.go", "package b")
	second := hash()
	if second == first {
		t.Error("changing a file's content kept the hash")
	}
	if err := os.Rename(dir+"/a.go", dir+"/b.go"); err != nil {
		t.Fatal(err)
	}
	if hash() == second {
		t.Error("renaming a file kept the hash")
	}
}
