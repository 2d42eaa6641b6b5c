package manifests

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedplane/fedplane/internal/testfixtures"
)

// The invalid fixtures are refused offline with the same field the API server names.
func TestValidateRefusesEveryInvalidFixture(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	want := testfixtures.InvalidFields()
	files, err := filepath.Glob(testfixtures.Path(t, "invalid", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			field, ok := want[filepath.Base(f)]
			if !ok {
				t.Fatalf("no expected field for %s", f)
			}
			objs, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				errs := v.Validate(t.Context(), o.Object)
				if len(errs) == 0 {
					t.Fatalf("%s: accepted, want refused naming %s", o.Source(), field)
				}
				if !strings.Contains(errs.ToAggregate().Error(), field) {
					t.Errorf("%s: errors %q do not name %s", o.Source(), errs.ToAggregate(), field)
				}
			}
		})
	}
}

func TestValidateAcceptsTheSeedManifests(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Load(testfixtures.Path(t, "seed", "manifests"), testfixtures.Path(t, "seed", "clusters"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) < 10 {
		t.Fatalf("read %d objects from the seed fixtures, want at least 10", len(objs))
	}
	for _, o := range objs {
		if errs := v.Validate(t.Context(), o.Object); len(errs) != 0 {
			t.Errorf("%s: %s %s refused: %v", o.Source(), o.Object.GetKind(), o.Object.GetName(), errs.ToAggregate())
		}
	}
}

func TestValidateRefusesUnknownAndMistypedTemplateFields(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode([]byte(`
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata: {name: x, namespace: y}
spec:
  template:
    spec:
      replicas: three
      replicaz: 2
      selector: {matchLabels: {app: x}}
      template: {metadata: {labels: {app: x}}, spec: {containers: [{name: x, image: x}]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := v.Validate(t.Context(), objs[0]).ToAggregate().Error()
	for _, want := range []string{"spec.template.spec.replicaz", "spec.template.spec.replicas"} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q do not name %s", got, want)
		}
	}
}
