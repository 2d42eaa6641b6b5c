package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// summary is what the tests compare of a loaded object: where it came from, and what it is.
func summary(objs []Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Source()+": "+o.Object.GetAPIVersion()+" "+o.Object.GetKind()+" "+o.Object.GetNamespace()+"/"+o.Object.GetName())
	}
	return out
}

func TestLoadFromUnwrapsListsAndReadsStandardInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "one.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		stdin string
		paths []string
		want  []string
	}{
		{
			name: "kubectl get -o yaml: a v1 List of several kinds",
			stdin: `apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
- apiVersion: core.kubefed.io/v1beta1
  kind: KubeFedCluster
  metadata: {name: cce, namespace: kube-federation-system}
- apiVersion: types.kubefed.io/v1beta1
  kind: FederatedDeployment
  metadata: {name: web, namespace: shop}
`,
			paths: []string{"-"},
			want: []string{
				"standard input (document 1, item 1): core.kubefed.io/v1beta1 KubeFedCluster kube-federation-system/cce",
				"standard input (document 1, item 2): types.kubefed.io/v1beta1 FederatedDeployment shop/web",
			},
		},
		{
			name:  "a typed list gives its items their apiVersion and kind",
			stdin: `{"apiVersion": "apps/v1", "kind": "DeploymentList", "items": [{"metadata": {"name": "d", "namespace": "x"}}]}`,
			paths: []string{"-"},
			want:  []string{"standard input (document 1, item 1): apps/v1 Deployment x/d"},
		},
		{
			name:  "an empty list gives nothing; files and standard input mix, in order",
			stdin: "apiVersion: v1\nkind: List\nitems: []\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: x}\n",
			paths: []string{file, "-"},
			want: []string{
				file + " (document 1): v1 ConfigMap x/a",
				"standard input (document 2): v1 Secret x/s",
			},
		},
		{
			name:  "a kind ending in List without items is an object",
			stdin: "apiVersion: example.com/v1\nkind: ShoppingList\nmetadata: {name: l}\nspec: {}\n",
			paths: []string{"-"},
			want:  []string{"standard input (document 1): example.com/v1 ShoppingList /l"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := LoadFrom(strings.NewReader(tc.stdin), tc.paths...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summary(objs)); diff != "" {
				t.Errorf("LoadFrom (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadFromRefuses(t *testing.T) {
	cases := []struct {
		name, stdin string
		paths       []string
		want        string
	}{
		{name: "standard input twice", paths: []string{"-", "-"}, want: "can be read only once"},
		{name: "a list item without kind", stdin: "apiVersion: v1\nkind: List\nitems: [{metadata: {name: a}}]\n", paths: []string{"-"}, want: "standard input (document 1): List: items[0]: kind is missing"},
		{name: "a list item that is no object", stdin: "apiVersion: v1\nkind: List\nitems: [3]\n", paths: []string{"-"}, want: "items"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFrom(strings.NewReader(tc.stdin), tc.paths...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
