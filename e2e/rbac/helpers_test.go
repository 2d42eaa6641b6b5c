package rbac_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
)

var configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		return ok && err == nil, nil
	}); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// forbidden returns the lines of the log at path that tell of a denial.
func forbidden(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for line := range strings.Lines(string(b)) {
		if strings.Contains(strings.ToLower(line), "forbidden") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return lines
}
