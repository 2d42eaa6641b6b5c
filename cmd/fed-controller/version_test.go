package main

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedplane/fedplane/internal/version"
)

func TestVersionFlagPrintsTheStampedVersion(t *testing.T) {
	var want, out, errOut strings.Builder
	if err := version.Print(&want, "fed-controller"); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"--version"}, &out, &errOut); err != nil {
		t.Fatalf("run(--version) = %v, stderr: %s", err, errOut.String())
	}
	if diff := cmp.Diff(want.String(), out.String()); diff != "" {
		t.Errorf("fed-controller --version (-want +got):\n%s", diff)
	}
	if errOut.Len() != 0 {
		t.Errorf("fed-controller --version wrote to stderr: %q", errOut.String())
	}
}
