package overrides

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// FuzzRender renders the seed deployment with two arbitrary overrides. Render must never
// panic, must leave its input alone, and whatever it returns without error must keep the
// object's identity and the managed label.
func FuzzRender(f *testing.F) {
	f.Add("", "/spec/replicas", []byte("5"), "add", "/metadata/annotations", []byte(`{"foo":"bar"}`))
	f.Add("add", "/spec/template/spec/containers/0/args/0", []byte(`"-q"`), "remove", "/metadata/annotations/foo", []byte(nil))
	f.Add("replace", "/metadata", []byte(`{"name":"x"}`), "remove", "/metadata/labels", []byte(nil))
	f.Add("add", "/spec/template/spec/containers/-1", []byte(`[]`), "replace", "/spec/template/spec/containers/99999999999999999999", []byte(`{`))
	f.Add("add", "/", []byte(`null`), "add", "/a~1b/~0", []byte(`1e999`))
	f.Add("remove", "/spec/template/spec/containers/0/args/-", []byte(nil), "add", "/metadata/labels/kubefed.io~1managed", []byte(`false`))

	f.Fuzz(func(t *testing.T, op1, path1 string, value1 []byte, op2, path2 string, value2 []byte) {
		override := func(op, path string, value []byte) typesv1beta1.Override {
			o := typesv1beta1.Override{Op: op, Path: path}
			if value != nil {
				o.Value = &typesv1beta1.Raw{JSON: value}
			}
			return o
		}
		in := deploymentInput(override(op1, path1, value1), override(op2, path2, value2))
		template := runtime.DeepCopyJSON(in.Template)

		res, err := Render(in)

		if diff := cmp.Diff(template, in.Template); diff != "" {
			t.Fatalf("Render() changed the template (-want +got):\n%s", diff)
		}
		if err != nil {
			if res.Object != nil {
				t.Fatalf("Render() returned an object with error %v", err)
			}
			return
		}
		obj := res.Object
		if obj.GetName() != in.Name || obj.GetNamespace() != in.Namespace || obj.GetKind() != in.Kind {
			t.Fatalf("Render() changed the identity: name %q namespace %q kind %q", obj.GetName(), obj.GetNamespace(), obj.GetKind())
		}
		if got := obj.GetLabels()[contract.ManagedLabel]; got != contract.ManagedLabelValue {
			t.Fatalf("managed label = %q, want %q", got, contract.ManagedLabelValue)
		}
		if IsProtectedPath(path1) || IsProtectedPath(path2) {
			t.Fatalf("Render() accepted a protected path: %q, %q", path1, path2)
		}
		// The result must be plain JSON that can be deep-copied like any unstructured object.
		_ = runtime.DeepCopyJSON(obj.Object)
	})
}
