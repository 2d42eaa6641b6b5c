package overrides

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

func TestRenderFillsInTemplateValues(t *testing.T) {
	cce := &TemplateValues{Cluster: "cce", Labels: map[string]string{"region": "eu-west", "tier": "Gold"}, Namespace: "monitoring"}
	configMap := func(data map[string]any) map[string]any { return map[string]any{"data": data} }
	cases := []struct {
		name      string
		template  map[string]any
		overrides []typesv1beta1.Override
		values    *TemplateValues
		want      map[string]any
		// wantErr is the error's message; the error is then a *TemplateError at wantPath.
		wantErr, wantPath string
	}{
		{
			name:     "the cluster, a label and the namespace",
			template: configMap(map[string]any{"cluster": "{{ .cluster }}", "region": "{{ .labels.region }}", "ns": "{{.namespace}}"}),
			values:   cce, want: map[string]any{"cluster": "cce", "region": "eu-west", "ns": "monitoring"},
		},
		{
			name:     "within a longer string, and in an embedded YAML document, as plain text",
			template: configMap(map[string]any{"prometheus.yml": "global:\n  external_labels:\n    cluster: {{ .cluster }}\n    region: '{{ .labels.region }}'\n"}),
			values:   cce, want: map[string]any{"prometheus.yml": "global:\n  external_labels:\n    cluster: cce\n    region: 'eu-west'\n"},
		},
		{
			name:      "after the overrides: an override's value is filled in too",
			template:  configMap(map[string]any{"endpoint": "default"}),
			overrides: []typesv1beta1.Override{ov("", "/data/endpoint", "https://{{ .labels.region }}.example.com")},
			values:    cce, want: map[string]any{"endpoint": "https://eu-west.example.com"},
		},
		{
			name:     "default, lower and upper; index for a label that may be missing",
			template: configMap(map[string]any{"zone": `{{ index .labels "zone" | default "none" }}`, "tier": "{{ .labels.tier | lower }}", "up": "{{ upper .cluster }}"}),
			values:   cce, want: map[string]any{"zone": "none", "tier": "gold", "up": "CCE"},
		},
		{
			name:     "without values, templates are left as they are",
			template: configMap(map[string]any{"cluster": "{{ .cluster }}"}),
			want:     map[string]any{"cluster": "{{ .cluster }}"},
		},
		{
			name:     "a label that the cluster does not have fails",
			template: configMap(map[string]any{"a": "fine", "zone": "{{ .labels.zone }}"}),
			values:   cce, wantPath: "/data/zone",
			wantErr: `failed to fill in the template value at /data/zone: template: value:1:10: executing "value" at <.labels.zone>: map has no entry for key "zone"`,
		},
		{
			name:     "a name that is not a value fails",
			template: configMap(map[string]any{"x": "{{ .region }}"}),
			values:   cce, wantPath: "/data/x",
			wantErr: `failed to fill in the template value at /data/x: template: value:1:3: executing "value" at <.region>: map has no entry for key "region"`,
		},
		{
			name:     "a syntax error fails",
			template: configMap(map[string]any{"x": "{{ .cluster "}),
			values:   cce, wantPath: "/data/x",
			wantErr: `failed to fill in the template value at /data/x: template: value:1: unclosed action`,
		},
		{
			name:     "a function that is not offered fails",
			template: configMap(map[string]any{"x": "{{ env .cluster }}"}),
			values:   cce, wantPath: "/data/x",
			wantErr: `failed to fill in the template value at /data/x: template: value:1: function "env" not defined`,
		},
		{
			name:     "a value that grows past 1 MiB fails",
			template: configMap(map[string]any{"x": `{{ printf "%1000000d" 1 }}{{ printf "%1000000d" 2 }}`}),
			values:   cce, wantPath: "/data/x",
			wantErr: `failed to fill in the template value at /data/x: the value would be longer than 1048576 bytes`,
		},
		{
			name:     "keys with / and ~ are escaped in the path",
			template: configMap(map[string]any{"a/b~c": "{{ .nope }}"}),
			values:   cce, wantPath: "/data/a~1b~0c",
			wantErr: `failed to fill in the template value at /data/a~1b~0c: template: value:1:3: executing "value" at <.nope>: map has no entry for key "nope"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Render(Input{Template: tc.template, APIVersion: "v1", Kind: "ConfigMap", Name: "settings", Namespace: "monitoring", Namespaced: true, Overrides: tc.overrides, Values: tc.values})
			if tc.wantErr != "" {
				var te *TemplateError
				if !errors.As(err, &te) || te.Path != tc.wantPath || !errors.Is(err, ErrTemplate) || !IsOverrideFailure(err) {
					t.Fatalf("Render() error = %v, want a *TemplateError at %s", err, tc.wantPath)
				}
				if err.Error() != tc.wantErr {
					t.Errorf("Render() error:\n got %s\nwant %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.Object.Object["data"]); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTemplateValuesLeaveTheIdentityAndKeysAlone(t *testing.T) {
	template := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"{{ .cluster }}": "{{ .cluster }}"}, "generateName": "{{ .cluster }}"},
		"spec":     map[string]any{"args": []any{"--cluster={{ .cluster }}", int64(3), nil}},
	}
	res, err := Render(Input{Template: template, APIVersion: "v1", Kind: "Pod", Name: "p", Namespace: "default", Namespaced: true, Values: &TemplateValues{Cluster: "local"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{
			"name": "p", "namespace": "default", "generateName": "{{ .cluster }}",
			"labels": map[string]any{"{{ .cluster }}": "local", "kubefed.io/managed": "true"},
		},
		"spec": map[string]any{"args": []any{"--cluster=local", int64(3), nil}},
	}
	if diff := cmp.Diff(want, res.Object.Object); diff != "" {
		t.Errorf("rendered (-want +got):\n%s", diff)
	}
	if !strings.Contains(template["spec"].(map[string]any)["args"].([]any)[0].(string), "{{") {
		t.Error("Render filled in the caller's template")
	}
}
