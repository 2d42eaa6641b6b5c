package overrides

import (
	"fmt"
	"testing"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// BenchmarkRender renders the seed deployment with 100 overrides of every op.
func BenchmarkRender(b *testing.B) {
	overrides := []typesv1beta1.Override{
		ov("add", "/metadata/annotations", map[string]string{}),
		ov("add", "/spec/template/spec/containers/0/env", []any{}),
	}
	for i := 0; len(overrides) < 100; i++ {
		switch i % 4 {
		case 0:
			overrides = append(overrides, ov("add", fmt.Sprintf("/metadata/annotations/a%d", i), fmt.Sprint(i)))
		case 1:
			overrides = append(overrides, ov("add", "/spec/template/spec/containers/0/env/-", map[string]string{"name": fmt.Sprintf("E%d", i), "value": "x"}))
		case 2:
			overrides = append(overrides, ov("", "/spec/replicas", i))
		case 3:
			overrides = append(overrides, ov("remove", fmt.Sprintf("/metadata/annotations/a%d", i-3), nil))
		}
	}
	in := deploymentInput(overrides...)
	if _, err := Render(in); err != nil {
		b.Fatalf("Render() error = %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(in); err != nil {
			b.Fatal(err)
		}
	}
}
