package overrides

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// ov builds an override whose value is v encoded as JSON; a nil v leaves the value unset.
func ov(op, path string, v any) typesv1beta1.Override {
	o := typesv1beta1.Override{Op: op, Path: path}
	if v != nil {
		raw, err := typesv1beta1.NewRaw(v)
		if err != nil {
			panic(err) // Test inputs are literals; this cannot happen.
		}
		o.Value = &raw
	}
	return o
}

// ovRaw builds an override whose value is the given bytes, valid JSON or not.
func ovRaw(op, path, raw string) typesv1beta1.Override {
	return typesv1beta1.Override{Op: op, Path: path, Value: &typesv1beta1.Raw{JSON: []byte(raw)}}
}

// seedTemplate is the template of the seed FederatedDeployment test-deployment, as a JSON
// decoder gives it.
func seedTemplate() map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(`{
		"metadata": {"labels": {"app": "nginx"}},
		"spec": {
			"replicas": 3,
			"selector": {"matchLabels": {"app": "nginx"}},
			"template": {
				"metadata": {"labels": {"app": "nginx"}},
				"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "args": ["-g", "daemon off;"]}]}
			}
		}
	}`), &m); err != nil {
		panic(err) // The literal above is valid JSON.
	}
	return m
}

// seedCCEOverrides are the seed FederatedDeployment's overrides for cluster cce.
func seedCCEOverrides() []typesv1beta1.Override {
	return []typesv1beta1.Override{
		ov("", "/spec/replicas", 5),
		ov("", "/spec/template/spec/containers/0/image", "nginx:1.17.0-alpine"),
		ov("add", "/metadata/annotations", map[string]string{"foo": "bar"}),
		ov("remove", "/metadata/annotations/foo", nil),
		ov("add", "/spec/template/spec/containers/0/args/0", "-q"),
	}
}

// deployment builds the expected rendered seed deployment with the given replicas, image,
// args and metadata additions.
func deployment(replicas int64, image string, args []any, extraMeta map[string]any) map[string]any {
	meta := map[string]any{
		"name":      "test-deployment",
		"namespace": "test-namespace",
		"labels":    map[string]any{"app": "nginx", contract.ManagedLabel: contract.ManagedLabelValue},
	}
	for k, v := range extraMeta {
		meta[k] = v
	}
	return map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   meta,
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": map[string]any{"app": "nginx"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "nginx"}},
				"spec": map[string]any{"containers": []any{map[string]any{
					"name": "nginx", "image": image, "args": args,
				}}},
			},
		},
	}
}

// deploymentInput is the seed FederatedDeployment rendered as a Deployment.
func deploymentInput(overrides ...typesv1beta1.Override) Input {
	return Input{
		Template:   seedTemplate(),
		APIVersion: "apps/v1",
		Kind:       "Deployment",
		Name:       "test-deployment",
		Namespace:  "test-namespace",
		Namespaced: true,
		Overrides:  overrides,
	}
}

func TestRender(t *testing.T) {
	droppedAnnotations := Warning{Reason: AnnotationsNotSupported, Message: "metadata.annotations is not propagated from the template, so that it does not fight controllers in member clusters; set annotations with an override instead"}
	droppedFinalizers := Warning{Reason: FinalizersNotSupported, Message: "metadata.finalizers is not propagated from the template, so that it does not fight controllers in member clusters; set finalizers with an override instead"}
	managed := map[string]any{contract.ManagedLabel: contract.ManagedLabelValue}

	cases := []struct {
		name         string
		in           Input
		want         map[string]any
		wantWarnings []Warning
		// wantErr is the error Render must wrap; nil means success.
		wantErr error
		// wantOverride is the failing override that the error must name, when there is one.
		wantOverride *OverrideError
	}{
		{
			name: "seed 02: local has no overrides and keeps the template",
			in:   deploymentInput(),
			want: deployment(3, "nginx:1.25", []any{"-g", "daemon off;"}, nil),
		},
		{
			name: "seed 02: cce gets replicas, image and args, and foo is added then removed",
			in:   deploymentInput(seedCCEOverrides()...),
			want: deployment(5, "nginx:1.17.0-alpine", []any{"-q", "-g", "daemon off;"}, map[string]any{"annotations": map[string]any{}}),
		},
		{
			name: "an empty op replaces",
			in:   deploymentInput(ov("", "/spec/replicas", 7)),
			want: deployment(7, "nginx:1.25", []any{"-g", "daemon off;"}, nil),
		},
		{
			name: "an explicit replace op replaces",
			in:   deploymentInput(ov("replace", "/spec/replicas", 0)),
			want: deployment(0, "nginx:1.25", []any{"-g", "daemon off;"}, nil),
		},
		{
			name: "add with - appends to a list",
			in:   deploymentInput(ov("add", "/spec/template/spec/containers/0/args/-", "-x")),
			want: deployment(3, "nginx:1.25", []any{"-g", "daemon off;", "-x"}, nil),
		},
		{
			name: "a negative index counts from the end, as in KubeFed",
			in:   deploymentInput(ov("replace", "/spec/template/spec/containers/0/args/-1", "daemon on;")),
			want: deployment(3, "nginx:1.25", []any{"-g", "daemon on;"}, nil),
		},
		{
			name: "later overrides see the result of earlier ones",
			in: deploymentInput(
				ov("add", "/metadata/annotations", map[string]string{}),
				ov("add", "/metadata/annotations/team", "web"),
				ov("replace", "/metadata/annotations/team", "ops"),
			),
			want: deployment(3, "nginx:1.25", []any{"-g", "daemon off;"}, map[string]any{"annotations": map[string]any{"team": "ops"}}),
		},
		{
			name: "add without a value sets null",
			in:   deploymentInput(ov("add", "/spec/paused", nil)),
			want: func() map[string]any {
				d := deployment(3, "nginx:1.25", []any{"-g", "daemon off;"}, nil)
				d["spec"].(map[string]any)["paused"] = nil
				return d
			}(),
		},
		{
			name: "a value given with remove is ignored",
			in:   deploymentInput(ov("remove", "/spec/selector", "ignored")),
			want: func() map[string]any {
				d := deployment(3, "nginx:1.25", []any{"-g", "daemon off;"}, nil)
				delete(d["spec"].(map[string]any), "selector")
				return d
			}(),
		},
		{
			name: "the managed label comes back after an override removes all labels",
			in:   deploymentInput(ov("remove", "/metadata/labels", nil)),
			want: func() map[string]any {
				d := deployment(3, "nginx:1.25", []any{"-g", "daemon off;"}, nil)
				d["metadata"].(map[string]any)["labels"] = managed
				return d
			}(),
		},
		{
			name: "an override cannot turn the managed label off",
			in:   deploymentInput(ov("add", "/metadata/labels/kubefed.io~1managed", "false")),
			want: deployment(3, "nginx:1.25", []any{"-g", "daemon off;"}, nil),
		},
		{
			name: "template annotations and finalizers are dropped with a warning each",
			in: Input{
				Template: map[string]any{"metadata": map[string]any{
					"annotations": map[string]any{"a": "b"},
					"finalizers":  []any{"example.io/keep"},
				}, "data": map[string]any{"k": "v"}},
				APIVersion: "v1", Kind: "ConfigMap", Name: "cm", Namespace: "ns", Namespaced: true,
			},
			want: map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "cm", "namespace": "ns", "labels": managed},
				"data":     map[string]any{"k": "v"},
			},
			wantWarnings: []Warning{droppedAnnotations, droppedFinalizers},
		},
		{
			name: "empty template annotations are dropped without a warning",
			in: Input{
				Template:   map[string]any{"metadata": map[string]any{"annotations": map[string]any{}, "finalizers": nil}},
				APIVersion: "v1", Kind: "ConfigMap", Name: "cm", Namespace: "ns", Namespaced: true,
			},
			want: map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "cm", "namespace": "ns", "labels": managed},
			},
		},
		{
			name: "overrides may add the annotations that the template may not carry",
			in: Input{
				Template:   map[string]any{"metadata": map[string]any{"annotations": map[string]any{"a": "b"}}},
				APIVersion: "v1", Kind: "ConfigMap", Name: "cm", Namespace: "ns", Namespaced: true,
				Overrides: []typesv1beta1.Override{ov("add", "/metadata/annotations", map[string]string{"c": "d"})},
			},
			want: map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "cm", "namespace": "ns", "labels": managed, "annotations": map[string]any{"c": "d"}},
			},
			wantWarnings: []Warning{droppedAnnotations},
		},
		{
			name: "a nil template gives a bare object, as for a FederatedNamespace",
			in:   Input{APIVersion: "v1", Kind: "Namespace", Name: "test-namespace", Namespace: "test-namespace"},
			want: map[string]any{
				"apiVersion": "v1", "kind": "Namespace",
				"metadata": map[string]any{"name": "test-namespace", "labels": managed},
			},
		},
		{
			name: "a cluster-scoped target loses the template's namespace",
			in: Input{
				Template:   map[string]any{"metadata": map[string]any{"namespace": "stray", "name": "other"}, "rules": []any{}},
				APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "reader",
			},
			want: map[string]any{
				"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
				"metadata": map[string]any{"name": "reader", "labels": managed},
				"rules":    []any{},
			},
		},
		{
			name: "a namespaced target gets the federated namespace and name, and the target's kind",
			in: Input{
				Template:   map[string]any{"apiVersion": "v0", "kind": "Other", "metadata": map[string]any{"namespace": "stray", "name": "other", "generateName": "g-"}},
				APIVersion: "v1", Kind: "Secret", Name: "s", Namespace: "ns", Namespaced: true,
			},
			want: map[string]any{
				"apiVersion": "v1", "kind": "Secret",
				"metadata": map[string]any{"name": "s", "namespace": "ns", "generateName": "g-", "labels": managed},
			},
		},
		{
			name:         "/metadata/name is protected",
			in:           deploymentInput(ov("", "/metadata/name", "other")),
			wantErr:      ErrProtectedPath,
			wantOverride: &OverrideError{Index: 0, Op: "replace", Path: "/metadata/name"},
		},
		{
			name:         "/metadata/namespace is protected",
			in:           deploymentInput(ov("", "/spec/replicas", 1), ov("replace", "/metadata/namespace", "other")),
			wantErr:      ErrProtectedPath,
			wantOverride: &OverrideError{Index: 1, Op: "replace", Path: "/metadata/namespace"},
		},
		{
			name:         "/metadata/generateName is protected",
			in:           deploymentInput(ov("add", "/metadata/generateName", "x-")),
			wantErr:      ErrProtectedPath,
			wantOverride: &OverrideError{Index: 0, Op: "add", Path: "/metadata/generateName"},
		},
		{
			name:         "/kind is protected",
			in:           deploymentInput(ov("remove", "/kind", nil)),
			wantErr:      ErrProtectedPath,
			wantOverride: &OverrideError{Index: 0, Op: "remove", Path: "/kind"},
		},
		{
			name:    "replacing all of metadata cannot rename the object",
			in:      deploymentInput(ov("replace", "/metadata", map[string]any{"name": "other", "namespace": "test-namespace"})),
			wantErr: ErrProtectedPath,
		},
		{
			name:    "removing metadata is refused",
			in:      deploymentInput(ov("remove", "/metadata", nil)),
			wantErr: ErrProtectedPath,
		},
		{
			name:    "replacing metadata cannot add a generateName",
			in:      deploymentInput(ov("replace", "/metadata", map[string]any{"name": "test-deployment", "namespace": "test-namespace", "generateName": "x-"})),
			wantErr: ErrProtectedPath,
		},
		{
			name: "replacing metadata with the same identity is allowed",
			in:   deploymentInput(ov("replace", "/metadata", map[string]any{"name": "test-deployment", "namespace": "test-namespace"})),
			want: func() map[string]any {
				d := deployment(3, "nginx:1.25", []any{"-g", "daemon off;"}, nil)
				d["metadata"].(map[string]any)["labels"] = managed
				return d
			}(),
		},
		{
			name:         "replace of a missing path fails and names the override",
			in:           deploymentInput(ov("", "/spec/replicas", 2), ov("", "/spec/strategy/type", "Recreate")),
			wantErr:      ErrPatchFailed,
			wantOverride: &OverrideError{Index: 1, Op: "replace", Path: "/spec/strategy/type"},
		},
		{
			name:         "remove of a missing key fails",
			in:           deploymentInput(ov("remove", "/metadata/annotations/foo", nil)),
			wantErr:      ErrPatchFailed,
			wantOverride: &OverrideError{Index: 0, Op: "remove", Path: "/metadata/annotations/foo"},
		},
		{
			name:         "seed cce overrides without the add fail at the remove",
			in:           deploymentInput(seedCCEOverrides()[3]),
			wantErr:      ErrPatchFailed,
			wantOverride: &OverrideError{Index: 0, Op: "remove", Path: "/metadata/annotations/foo"},
		},
		{
			name:         "add below a missing parent fails",
			in:           deploymentInput(ov("add", "/spec/strategy/type", "Recreate")),
			wantErr:      ErrPatchFailed,
			wantOverride: &OverrideError{Index: 0, Op: "add", Path: "/spec/strategy/type"},
		},
		{
			name:         "an index past the end of a list fails",
			in:           deploymentInput(ov("add", "/spec/template/spec/containers/5", map[string]any{"name": "x"})),
			wantErr:      ErrPatchFailed,
			wantOverride: &OverrideError{Index: 0, Op: "add", Path: "/spec/template/spec/containers/5"},
		},
		{
			name:         "an index that is not a number fails",
			in:           deploymentInput(ov("replace", "/spec/template/spec/containers/first/image", "x")),
			wantErr:      ErrPatchFailed,
			wantOverride: &OverrideError{Index: 0, Op: "replace", Path: "/spec/template/spec/containers/first/image"},
		},
		{
			name:         "a path through a scalar fails",
			in:           deploymentInput(ov("add", "/spec/replicas/x", 1)),
			wantErr:      ErrPatchFailed,
			wantOverride: &OverrideError{Index: 0, Op: "add", Path: "/spec/replicas/x"},
		},
		{
			name:         "a value that is not JSON is refused",
			in:           deploymentInput(ovRaw("", "/spec/replicas", "{5")),
			wantErr:      ErrInvalidValue,
			wantOverride: &OverrideError{Index: 0, Op: "replace", Path: "/spec/replicas"},
		},
		{
			name:         "move is not an override op",
			in:           deploymentInput(ov("move", "/spec/replicas", nil)),
			wantErr:      ErrUnsupportedOp,
			wantOverride: &OverrideError{Index: 0, Op: "move", Path: "/spec/replicas"},
		},
		{
			name:         "test is not an override op",
			in:           deploymentInput(ov("test", "/spec/replicas", 3)),
			wantErr:      ErrUnsupportedOp,
			wantOverride: &OverrideError{Index: 0, Op: "test", Path: "/spec/replicas"},
		},
		{
			name:         "a path without a leading slash is refused",
			in:           deploymentInput(ov("", "spec/replicas", 1)),
			wantErr:      ErrInvalidPath,
			wantOverride: &OverrideError{Index: 0, Op: "replace", Path: "spec/replicas"},
		},
		{
			name:         "an empty path is refused",
			in:           deploymentInput(ov("", "", map[string]any{})),
			wantErr:      ErrInvalidPath,
			wantOverride: &OverrideError{Index: 0, Op: "replace", Path: ""},
		},
		{
			name:    "labels made a string by an override are refused",
			in:      deploymentInput(ov("replace", "/metadata/labels", "app=nginx")),
			wantErr: ErrInvalidResult,
		},
		{
			name:    "a label made a number by an override is refused",
			in:      deploymentInput(ov("replace", "/metadata/labels/app", 1)),
			wantErr: ErrInvalidResult,
		},
		{
			name:    "template metadata that is not an object is refused",
			in:      Input{Template: map[string]any{"metadata": "x"}, APIVersion: "v1", Kind: "ConfigMap", Name: "cm", Namespace: "ns", Namespaced: true},
			wantErr: ErrInvalidTemplate,
		},
		{
			name:    "a template that cannot be encoded is refused",
			in:      Input{Template: map[string]any{"data": math.NaN()}, APIVersion: "v1", Kind: "ConfigMap", Name: "cm", Namespace: "ns", Namespaced: true},
			wantErr: ErrInvalidTemplate,
		},
		{
			name:    "a missing name is refused",
			in:      Input{APIVersion: "v1", Kind: "ConfigMap", Namespace: "ns", Namespaced: true},
			wantErr: ErrInvalidInput,
		},
		{
			name:    "a missing kind is refused",
			in:      Input{APIVersion: "v1", Name: "cm"},
			wantErr: ErrInvalidInput,
		},
		{
			name:    "a missing apiVersion is refused",
			in:      Input{Kind: "ConfigMap", Name: "cm"},
			wantErr: ErrInvalidInput,
		},
		{
			name:    "a namespaced target without a namespace is refused",
			in:      Input{APIVersion: "v1", Kind: "ConfigMap", Name: "cm", Namespaced: true},
			wantErr: ErrInvalidInput,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Render() error = %v, want one wrapping %v", err, tc.wantErr)
				}
				if got.Object != nil {
					t.Errorf("Render() returned an object with its error: %v", got.Object)
				}
				if tc.wantOverride != nil {
					var oe *OverrideError
					if !errors.As(err, &oe) {
						t.Fatalf("Render() error = %v, want an *OverrideError", err)
					}
					gotOE := OverrideError{Index: oe.Index, Op: oe.Op, Path: oe.Path}
					if diff := cmp.Diff(*tc.wantOverride, gotOE); diff != "" {
						t.Errorf("failing override mismatch (-want +got):\n%s", diff)
					}
					if !strings.Contains(err.Error(), tc.wantOverride.Path) {
						t.Errorf("Render() error %q does not name the path %q", err, tc.wantOverride.Path)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Render() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got.Object.Object); diff != "" {
				t.Errorf("Render() object mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWarnings, got.Warnings); diff != "" {
				t.Errorf("Render() warnings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderDoesNotMutateInput renders with overrides that touch every part of the template
// and checks that neither the template nor the overrides changed.
func TestRenderDoesNotMutateInput(t *testing.T) {
	in := deploymentInput(append(seedCCEOverrides(),
		ov("remove", "/metadata/labels", nil),
		ov("add", "/spec/template/metadata/labels/extra", "x"),
	)...)
	in.Template["metadata"].(map[string]any)["annotations"] = map[string]any{"a": "b"}
	in.Template["metadata"].(map[string]any)["namespace"] = "stray"
	wantTemplate := runtime.DeepCopyJSON(in.Template)
	wantOverrides := seedCCEOverrides()

	got, err := Render(in)
	if err != nil {
		t.Fatalf("Render() error = %v", err)
	}
	if diff := cmp.Diff(wantTemplate, in.Template); diff != "" {
		t.Errorf("Render() changed the template (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantOverrides, in.Overrides[:len(wantOverrides)]); diff != "" {
		t.Errorf("Render() changed the overrides (-want +got):\n%s", diff)
	}
	// The rendered object must not share maps with the template either.
	got.Object.Object["spec"].(map[string]any)["replicas"] = int64(99)
	if diff := cmp.Diff(wantTemplate, in.Template); diff != "" {
		t.Errorf("the rendered object shares memory with the template (-want +got):\n%s", diff)
	}
}

// TestRenderOverrideErrorMessage pins the message that status and events show.
func TestRenderOverrideErrorMessage(t *testing.T) {
	_, err := Render(deploymentInput(ov("", "/spec/replicas", 2), ov("remove", "/metadata/annotations/foo", nil)))
	if err == nil {
		t.Fatal("Render() succeeded, want an error")
	}
	const wantPrefix = "failed to apply override 1 (remove /metadata/annotations/foo): patch does not apply: "
	if !strings.HasPrefix(err.Error(), wantPrefix) {
		t.Errorf("Render() error = %q, want prefix %q", err, wantPrefix)
	}
}

func TestForCluster(t *testing.T) {
	cce := typesv1beta1.ClusterOverrides{ClusterName: "cce", ClusterOverrides: seedCCEOverrides()}
	other := typesv1beta1.ClusterOverrides{ClusterName: "other", ClusterOverrides: []typesv1beta1.Override{ov("", "/spec/replicas", 1)}}
	cases := []struct {
		name    string
		all     []typesv1beta1.ClusterOverrides
		cluster string
		want    []typesv1beta1.Override
		wantErr bool
	}{
		{name: "the cluster's overrides are found", all: []typesv1beta1.ClusterOverrides{other, cce}, cluster: "cce", want: seedCCEOverrides()},
		{name: "a cluster without an entry has none", all: []typesv1beta1.ClusterOverrides{other, cce}, cluster: "local", want: nil},
		{name: "no overrides at all", all: nil, cluster: "local", want: nil},
		{name: "a cluster listed twice is an error", all: []typesv1beta1.ClusterOverrides{cce, other, cce}, cluster: "cce", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ForCluster(tc.all, tc.cluster)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ForCluster() error = %v, wantErr %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ForCluster() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsProtectedPath(t *testing.T) {
	cases := []struct {
		path string
		want bool
	}{
		{"/metadata/name", true},
		{"/metadata/namespace", true},
		{"/metadata/generateName", true},
		{"/kind", true},
		{"/metadata/labels", false},
		{"/apiVersion", false},
		{"/metadata/name/x", false},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			if got := IsProtectedPath(tc.path); got != tc.want {
				t.Errorf("IsProtectedPath(%q) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}
