// Package testfixtures gives tests the project's shared fixtures: the manifests users run, their
// expected results and the manifests that must be refused, kept in shared/fixtures beside the
// module's directory.
package testfixtures

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/util/yaml"
)

// Dir returns the fixtures directory, shared/fixtures beside the module's directory. A missing
// directory fails the test: the fixtures are part of every checkout that runs the tests.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("failed to get the working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("failed to find go.mod above %s", dir)
		}
		dir = parent
	}
	fixtures := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(fixtures); err != nil {
		tb.Fatalf("the shared fixtures are missing (want them at %s): %v", fixtures, err)
	}
	return fixtures
}

// Path returns the path of a file or directory under the fixtures directory.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	return filepath.Join(append([]string{Dir(tb)}, elem...)...)
}

// ReadYAML decodes every non-empty YAML document of a file into a new T.
func ReadYAML[T any](tb testing.TB, path string) []T {
	tb.Helper()
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		tb.Fatalf("failed to read %s: %v", path, err)
	}
	r := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []T
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("failed to read a document of %s: %v", path, err)
		}
		js, err := yaml.ToJSON(doc)
		if err != nil {
			tb.Fatalf("failed to convert a document of %s: %v", path, err)
		}
		if string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		var v T
		if err := json.Unmarshal(js, &v); err != nil {
			tb.Fatalf("failed to decode a document of %s: %v", path, err)
		}
		out = append(out, v)
	}
}

// InvalidFields maps each manifest of invalid/ to the field that its refusal must name.
func InvalidFields() map[string]string {
	return map[string]string{
		"cluster-bad-endpoint.yaml":       "spec.apiEndpoint",
		"cluster-bad-tls.yaml":            "spec.disabledTLSValidations",
		"override-bad-op.yaml":            "spec.overrides[0].clusterOverrides[0].op",
		"override-duplicate-cluster.yaml": "spec.overrides[1]",
		"override-path-no-slash.yaml":     "spec.overrides[0].clusterOverrides[0].path",
		"override-protected-path.yaml":    "spec.overrides[0].clusterOverrides[0].path",
		"rsp-bad-targetkind.yaml":         "spec.targetKind",
		"rsp-min-over-max.yaml":           "spec.clusters[local].minReplicas",
		"rsp-negative-total.yaml":         "spec.totalReplicas",
		"rsp-negative-weight.yaml":        "spec.clusters.*.weight",
	}
}
