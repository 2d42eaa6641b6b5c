package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fedplane/fedplane/api/contract"
)

// TestContractNamesHaveOneHome fails when code outside api/contract spells one of the
// contract's names as a string literal instead of taking it from there: a name written out
// twice can drift, and then one part of the control plane no longer finds what another wrote.
func TestContractNamesHaveOneHome(t *testing.T) {
	names := map[string]bool{}
	for _, n := range []string{contract.ManagedLabel, contract.ControlPlaneAnnotation, contract.ClusterAnnotation,
		contract.AppliedAnnotation, contract.OrphanAnnotation, contract.DeleteOptionAnnotation, contract.SyncFinalizer,
		contract.FederateLabel, contract.PlacementAnnotation, contract.OrphanOnUnfederateAnnotation, contract.PlacementAppliedAnnotation} {
		names[n] = true
	}
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && strings.HasPrefix(name, ".") || name == "bin" || name == "testdata" || path == filepath.Join(root, "api", "contract") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && names[s] {
				t.Errorf("%s: %q is written out; use the constant of api/contract", fset.Position(lit.Pos()), s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked %d Go files; the walk did not find the project", checked)
	}
}
