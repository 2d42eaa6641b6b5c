package federate

import (
	"crypto/md5" //nolint:gosec // The expected values are MD5, as KubeFed's.
	"encoding/hex"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s)) //nolint:gosec // See the import.
	return hex.EncodeToString(sum[:])
}

func federated(t *testing.T, spec string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(`{"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedConfigMap", "metadata": {"name": "x"}` + spec + `}`)); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestVersions(t *testing.T) {
	cases := []struct {
		name                   string
		spec                   string
		wantTemplate, wantOver string
	}{
		{
			name:         "the exact bytes: sorted keys, escaped HTML, a final newline",
			spec:         `, "spec": {"template": {"data": {"z": "<&>", "a": 1}}, "overrides": [{"clusterName": "c", "clusterOverrides": [{"path": "/data/a", "value": {"y": 2, "x": 1}}]}]}`,
			wantTemplate: md5Hex(`{"data":{"a":1,"z":"\u003c\u0026\u003e"}}` + "\n"),
			wantOver:     md5Hex(`{"overrides":[{"clusterName":"c","clusterOverrides":[{"path":"/data/a","value":{"x":1,"y":2}}]}]}` + "\n"),
		},
		{
			name:         "no overrides hash as null",
			spec:         `, "spec": {"template": {}}`,
			wantTemplate: md5Hex("{}\n"),
			wantOver:     md5Hex(`{"overrides":null}` + "\n"),
		},
		{
			name: "no spec gives no versions",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fed := federated(t, tc.spec)
			tv, err := TemplateVersion(fed)
			if err != nil {
				t.Fatal(err)
			}
			ov, err := OverridesVersion(fed)
			if err != nil {
				t.Fatal(err)
			}
			if tv != tc.wantTemplate {
				t.Errorf("TemplateVersion() = %q, want %q", tv, tc.wantTemplate)
			}
			if ov != tc.wantOver {
				t.Errorf("OverridesVersion() = %q, want %q", ov, tc.wantOver)
			}
		})
	}
}

func TestClusterVersionAndName(t *testing.T) {
	withGeneration := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"generation": int64(3), "resourceVersion": "77"}}}
	withoutGeneration := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"resourceVersion": "77"}}}
	if got := ClusterVersion(withGeneration); got != "gen:3" {
		t.Errorf("ClusterVersion() = %q, want gen:3", got)
	}
	if got := ClusterVersion(withoutGeneration); got != "rv:77" {
		t.Errorf("ClusterVersion() = %q, want rv:77", got)
	}
	if got := PropagatedVersionName("Deployment", "web"); got != "deployment-web" {
		t.Errorf("PropagatedVersionName() = %q, want deployment-web", got)
	}
}
