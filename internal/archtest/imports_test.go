package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// list returns, for each package matched by the patterns, the list field of `go list -json`
// named field: Deps (every package it depends on) or Imports (what it imports itself).
func list(t *testing.T, field string, patterns ...string) map[string][]string {
	t.Helper()
	args := append([]string{"list", "-json=ImportPath," + field}, patterns...)
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	deps := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p map[string]any
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		path, _ := p["ImportPath"].(string)
		values, _ := p[field].([]any)
		for _, v := range values {
			if s, ok := v.(string); ok {
				deps[path] = append(deps[path], s)
			}
		}
	}
	if len(deps) == 0 {
		t.Fatalf("go list matched no package for %v", patterns)
	}
	return deps
}

func TestPureDecisionPackagesUseNoAPIClient(t *testing.T) {
	// Not even through another package: apimachinery brings net/http, but no client.
	forbidden := []string{"sigs.k8s.io/controller-runtime", "k8s.io/client-go"}
	deps := list(t, "Deps",
		"github.com/fedplane/fedplane/pkg/placement",
		"github.com/fedplane/fedplane/pkg/overrides",
		"github.com/fedplane/fedplane/pkg/rsp/planner",
		"github.com/fedplane/fedplane/pkg/rsp/schedule",
		"github.com/fedplane/fedplane/pkg/plan",
		"github.com/fedplane/fedplane/pkg/render",
		"github.com/fedplane/fedplane/pkg/jsonhash",
	)
	for pkg, ds := range deps {
		for _, d := range ds {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s: the decision packages must not talk to an API server", pkg, d)
				}
			}
		}
	}
}

func TestAPITypesImportTypesOnly(t *testing.T) {
	allowed := []string{"k8s.io/api/", "k8s.io/apimachinery/", "github.com/fedplane/fedplane/api/"}
	imports := list(t, "Imports", "github.com/fedplane/fedplane/api/...")
	for pkg, is := range imports {
		for _, imp := range is {
			if !strings.Contains(strings.Split(imp, "/")[0], ".") {
				continue // The standard library.
			}
			ok := false
			for _, a := range allowed {
				ok = ok || strings.HasPrefix(imp, a)
			}
			if !ok {
				t.Errorf("%s imports %s: API types import only the standard library, k8s.io/api and k8s.io/apimachinery", pkg, imp)
			}
		}
	}
}

func TestRSPControllerDoesNotBorrowFromTheSyncController(t *testing.T) {
	// What both read from the host is in pkg/hostview; the RSP controller needs nothing else of
	// pkg/federate, not even through another package.
	const federate = "github.com/fedplane/fedplane/pkg/federate"
	deps := list(t, "Deps", "github.com/fedplane/fedplane/pkg/rsp/...")
	for pkg, ds := range deps {
		for _, d := range ds {
			if d == federate || strings.HasPrefix(d, federate+"/") {
				t.Errorf("%s depends on %s: share what both controllers need through pkg/hostview", pkg, d)
			}
		}
	}
}

func TestGoroutineRegistryUsesTheStandardLibraryOnly(t *testing.T) {
	// It is shared by the member cache, the type controllers and the probe loops: it must not
	// pull any of them, or an API client, into the others.
	imports := list(t, "Imports", "github.com/fedplane/fedplane/pkg/goroutines")
	for pkg, is := range imports {
		for _, imp := range is {
			if strings.Contains(strings.Split(imp, "/")[0], ".") {
				t.Errorf("%s imports %s: the goroutine registry imports only the standard library", pkg, imp)
			}
		}
	}
}
