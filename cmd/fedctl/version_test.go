package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedplane/fedplane/internal/version"
)

func TestVersionCommandPrintsTheStampedVersion(t *testing.T) {
	var want, out, errOut strings.Builder
	if err := version.Print(&want, "fedctl"); err != nil {
		t.Fatal(err)
	}
	root := newRootCommand(&out, &errOut)
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil {
		t.Fatalf("fedctl version = %v, stderr: %s", err, errOut.String())
	}
	if diff := cmp.Diff(want.String(), out.String()); diff != "" {
		t.Errorf("fedctl version (-want +got):\n%s", diff)
	}
}
