package autofederate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func TestParsePlacement(t *testing.T) {
	cases := []struct {
		name    string
		value   string
		want    string
		wantErr string
	}{
		{name: "a list of names, in JSON", value: `{"clusters": ["cce", "host2"]}`, want: `{clusters: [{name: cce}, {name: host2}]}`},
		{name: "a list of names, in YAML, a name given twice once", value: "clusters: [cce, cce, local]", want: `{clusters: [{name: cce}, {name: local}]}`},
		{name: "names as in spec.placement", value: `{"clusters": [{"name": "cce"}]}`, want: `{clusters: [{name: cce}]}`},
		{name: "an empty list places nowhere, as in KubeFed", value: `{"clusters": []}`, want: `{clusters: []}`},
		{name: "a selector", value: `{"clusterSelector": {"matchLabels": {"region": "eu"}}}`, want: `{clusterSelector: {matchLabels: {region: eu}}}`},
		{name: "a selector with expressions", value: `clusterSelector: {matchExpressions: [{key: tier, operator: In, values: [prod]}]}`,
			want: `{clusterSelector: {matchExpressions: [{key: tier, operator: In, values: [prod]}]}}`},
		{name: "an empty selector selects every cluster", value: `{"clusterSelector": {}}`, want: `{clusterSelector: {matchLabels: {}}}`},
		{name: "empty", value: " ", wantErr: "annotation fedplane.io/placement: is empty"},
		{name: "not JSON or YAML", value: `{"clusters": [`, wantErr: "annotation fedplane.io/placement: error converting YAML to JSON"},
		{name: "an unknown field", value: `{"cluster": ["a"]}`, wantErr: `unknown field "cluster"`},
		{name: "neither", value: `{}`, wantErr: "names neither clusters nor clusterSelector"},
		{name: "both", value: `{"clusters": ["a"], "clusterSelector": {}}`, wantErr: "gives both clusters and clusterSelector"},
		{name: "a bad cluster name", value: `{"clusters": ["cce", "Not_A_Name"]}`, wantErr: `clusters[1]: "Not_A_Name" is not a cluster name`},
		{name: "a cluster that is not a name", value: `{"clusters": [3]}`, wantErr: `want a cluster name or {"name": ...}`},
		{name: "a bad selector operator", value: `{"clusterSelector": {"matchExpressions": [{"key": "tier", "operator": "Near"}]}}`,
			wantErr: `clusterSelector: "Near" is not a valid label selector operator`},
		{name: "a bad selector value", value: `{"clusterSelector": {"matchLabels": {"region": "not a value"}}}`, wantErr: "clusterSelector: values[0][region]: Invalid value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePlacement(tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParsePlacement(%q) = %v, %v; want an error with %q", tc.value, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePlacement(%q): %v", tc.value, err)
			}
			var want map[string]any
			if err := yaml.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParsePlacement(%q) mismatch (-want +got):\n%s", tc.value, diff)
			}
		})
	}
}
