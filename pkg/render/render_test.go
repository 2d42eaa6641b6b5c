package render

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/overrides"
)

const (
	controlPlane = "cp-a"
	cluster      = "cce"
)

var deployments = Target{APIVersion: "apps/v1", Kind: "Deployment", Namespaced: true}

// fed builds a FederatedDeployment shop/web fluently.
type fed struct{ u *unstructured.Unstructured }

func newFed() fed {
	return fed{&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedDeployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"replicas": int64(3)}}},
	}}}
}

func (f fed) set(value any, path ...string) fed {
	u := f.u.DeepCopy()
	if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
		panic(err)
	}
	return fed{u}
}

// override is one override of the cluster of the cases.
func override(op, path, value string) []typesv1beta1.ClusterOverrides {
	o := typesv1beta1.Override{Op: op, Path: path}
	if value != "" {
		o.Value = &typesv1beta1.Raw{JSON: []byte(value)}
	}
	return []typesv1beta1.ClusterOverrides{{ClusterName: cluster, ClusterOverrides: []typesv1beta1.Override{o}}}
}

// member is a copy of the Deployment in the cluster with the given replicas.
func member(replicas any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop"}}}
	if replicas != nil {
		u.Object["spec"] = map[string]any{"replicas": replicas}
	}
	return u
}

// deployment is the rendered Deployment shop/web with spec and annotations.
func deployment(spec, annotations map[string]any) map[string]any {
	meta := map[string]any{"name": "web", "namespace": "shop", "labels": map[string]any{contract.ManagedLabel: "true"}, "annotations": annotations}
	obj := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta}
	if spec != nil {
		obj["spec"] = spec
	}
	return obj
}

// ours are the annotations of a Deployment rendered for the cluster by the control plane, the
// hash left out.
var ours = map[string]any{contract.ControlPlaneAnnotation: controlPlane, contract.ClusterAnnotation: cluster}

func TestMember(t *testing.T) {
	replicas := func(n int64) map[string]any { return map[string]any{"replicas": n} }
	cases := []struct {
		name         string
		in           Input
		want         map[string]any
		wantHash     bool
		wantWarnings []overrides.Reason
	}{
		{
			name: "the template with the managed label, the control plane, the cluster and the hash",
			in:   Input{Federated: newFed().u},
			want: deployment(replicas(3), ours), wantHash: true,
		},
		{
			name: "the cluster's overrides apply, another cluster's do not",
			in: Input{Federated: newFed().u, Overrides: append(override("", "/spec/replicas", "5"),
				typesv1beta1.ClusterOverrides{ClusterName: "local", ClusterOverrides: []typesv1beta1.Override{{Path: "/spec/paused", Value: &typesv1beta1.Raw{JSON: []byte("true")}}}})},
			want: deployment(replicas(5), ours), wantHash: true,
		},
		{
			name: "template annotations are dropped with a warning",
			in:   Input{Federated: newFed().set(map[string]any{"note": "x"}, "spec", "template", "metadata", "annotations").u},
			want: deployment(replicas(3), ours), wantHash: true, wantWarnings: []overrides.Reason{overrides.AnnotationsNotSupported},
		},
		{
			name: "an override cannot take the control plane's annotation",
			in:   Input{Federated: newFed().u, Overrides: override("add", "/metadata/annotations", `{"fedplane.io/control-plane-id":"cp-b","team":"a"}`)},
			want: deployment(replicas(3), map[string]any{contract.ControlPlaneAnnotation: controlPlane, contract.ClusterAnnotation: cluster, "team": "a"}), wantHash: true,
		},
		{
			name: "without a control-plane id, neither it nor the hash that covers it",
			in:   Input{Federated: newFed().u, ControlPlaneID: "-"},
			want: deployment(replicas(3), map[string]any{contract.ClusterAnnotation: cluster}),
		},
		{
			name: "with retainReplicas the member's replicas are kept",
			in:   Input{Federated: newFed().u, RetainReplicas: true, Existing: member(int64(7))},
			want: deployment(replicas(7), ours), wantHash: true,
		},
		{
			name: "with retainReplicas and no copy (or none known) the template's replicas are applied",
			in:   Input{Federated: newFed().u, RetainReplicas: true},
			want: deployment(replicas(3), ours), wantHash: true,
		},
		{
			name: "with retainReplicas and a copy without replicas none are applied",
			in:   Input{Federated: newFed().u, RetainReplicas: true, Existing: member(nil)},
			want: deployment(map[string]any{}, ours), wantHash: true,
		},
		{
			name: "without retainReplicas the member's replicas do not matter",
			in:   Input{Federated: newFed().u, Existing: member(int64(7))},
			want: deployment(replicas(3), ours), wantHash: true,
		},
		{
			name: "a cluster-scoped target has no namespace",
			in:   Input{Federated: newFed().u, Target: Target{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"}},
			want: map[string]any{
				"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "spec": replicas(3),
				"metadata": map[string]any{"name": "web", "labels": map[string]any{contract.ManagedLabel: "true"}, "annotations": ours},
			},
			wantHash: true,
		},
		{
			name: "an object without a template is its identity alone",
			in:   Input{Federated: newFed().set(nil, "spec", "template").u},
			want: deployment(nil, ours), wantHash: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := complete(tc.in)
			before := in.Federated.DeepCopy()
			got, err := Member(in)
			if err != nil {
				t.Fatalf("Member: %v", err)
			}
			hash := got.Object.GetAnnotations()[contract.AppliedAnnotation]
			if (len(hash) == 32) != tc.wantHash {
				t.Errorf("hash %q, want one: %t", hash, tc.wantHash)
			}
			obj := got.Object.DeepCopy()
			unstructured.RemoveNestedField(obj.Object, "metadata", "annotations", contract.AppliedAnnotation)
			if diff := cmp.Diff(tc.want, obj.Object); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
			var reasons []overrides.Reason
			for _, w := range got.Warnings {
				reasons = append(reasons, w.Reason)
			}
			if diff := cmp.Diff(tc.wantWarnings, reasons); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before.Object, in.Federated.Object); diff != "" {
				t.Errorf("the federated object changed (-before +after):\n%s", diff)
			}
		})
	}
}

// complete gives the input of a case the cases' defaults: the cluster, the control plane
// ("-" for none) and Deployments.
func complete(in Input) Input {
	in.Cluster = cluster
	switch in.ControlPlaneID {
	case "":
		in.ControlPlaneID = controlPlane
	case "-":
		in.ControlPlaneID = ""
	}
	if in.Target == (Target{}) {
		in.Target = deployments
	}
	return in
}

func TestMemberFailures(t *testing.T) {
	twice := append(override("", "/spec/replicas", "5"), override("", "/spec/replicas", "6")...)
	cases := []struct {
		name       string
		in         Input
		wantErr    error
		isOverride bool
	}{
		{name: "an override that does not apply names itself", in: Input{Federated: newFed().u, Overrides: override("remove", "/spec/missing", "")}, wantErr: overrides.ErrPatchFailed, isOverride: true},
		{name: "an override of a protected path", in: Input{Federated: newFed().u, Overrides: override("", "/metadata/name", `"other"`)}, wantErr: overrides.ErrProtectedPath, isOverride: true},
		{name: "a template that is not an object", in: Input{Federated: newFed().set("text", "spec", "template").u}, wantErr: overrides.ErrInvalidTemplate},
		{name: "a cluster listed twice in the overrides", in: Input{Federated: newFed().u, Overrides: twice}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Member(complete(tc.in))
			if err == nil {
				t.Fatal("Member succeeded, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want one that wraps %v", err, tc.wantErr)
			}
			var oe *overrides.OverrideError
			if errors.As(err, &oe) != tc.isOverride {
				t.Errorf("error %v: an *overrides.OverrideError = %t, want %t", err, !tc.isOverride, tc.isOverride)
			}
		})
	}
}

func TestHashTellsWhatIsApplied(t *testing.T) {
	hashRetained := func(f fed, retain bool, existing *unstructured.Unstructured) string {
		t.Helper()
		got, err := Member(complete(Input{Federated: f.u, RetainReplicas: retain, Existing: existing}))
		if err != nil {
			t.Fatal(err)
		}
		return got.Object.GetAnnotations()[contract.AppliedAnnotation]
	}
	hash := func(f fed, existing *unstructured.Unstructured) string { return hashRetained(f, false, existing) }
	labelled := newFed().set(map[string]any{"tier": "front"}, "spec", "template", "metadata", "labels")
	base := hash(labelled, nil)
	cases := []struct {
		name string
		got  string
		same bool
	}{
		{name: "the same object gives the same hash, whatever the copy", got: hash(labelled, member(int64(9))), same: true},
		{name: "a label removed from the template changes the hash", got: hash(newFed(), nil)},
		{name: "other replicas change the hash", got: hash(labelled.set(int64(4), "spec", "template", "spec", "replicas"), nil)},
		{name: "switching retainReplicas on changes the hash", got: hashRetained(labelled, true, member(int64(3)))},
		{name: "another control plane gives another hash", got: func() string {
			got, _ := Member(complete(Input{Federated: labelled.u, ControlPlaneID: "cp-b"}))
			return got.Object.GetAnnotations()[contract.AppliedAnnotation]
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.got == base) != tc.same {
				t.Errorf("hash %s against %s: same = %v, want %v", tc.got, base, tc.got == base, tc.same)
			}
		})
	}
	t.Run("with retainReplicas the member's own scaling does not change the hash", func(t *testing.T) {
		if a, b := hashRetained(labelled, true, member(int64(2))), hashRetained(labelled, true, member(int64(7))); a != b {
			t.Errorf("hash with the member at 2 replicas %s, at 7 %s; want them equal", a, b)
		}
	})
}

func TestMemberFillsInTemplateValuesOnlyWhenAsked(t *testing.T) {
	template := map[string]any{"data": map[string]any{"cluster": "{{ .cluster }}", "region": "{{ .labels.region }}", "ns": "{{ .namespace }}"}}
	configMaps := Target{APIVersion: "v1", Kind: "ConfigMap", Namespaced: true}
	labels := map[string]string{"region": "eu-west"}
	cases := []struct {
		name       string
		annotation string
		labels     map[string]string
		want       map[string]any
		wantErr    bool
	}{
		{name: "with the annotation, each value is filled in for the cluster", annotation: "true", labels: labels,
			want: map[string]any{"cluster": cluster, "region": "eu-west", "ns": "shop"}},
		{name: "without it, as written, as KubeFed does", labels: labels, want: template["data"].(map[string]any)},
		{name: "any other value of the annotation is not asking", annotation: "yes", labels: labels, want: template["data"].(map[string]any)},
		{name: "a label that the cluster does not have is a template failure", annotation: "true", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFed().set(template, "spec", "template")
			if tc.annotation != "" {
				f.u.SetAnnotations(map[string]string{contract.TemplateValuesAnnotation: tc.annotation})
			}
			res, err := Member(Input{Federated: f.u, Target: configMaps, Cluster: cluster, ClusterLabels: tc.labels, ControlPlaneID: controlPlane})
			if tc.wantErr {
				if !errors.Is(err, overrides.ErrTemplate) || !overrides.IsOverrideFailure(err) {
					t.Fatalf("Member() error = %v, want a template failure", err)
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
