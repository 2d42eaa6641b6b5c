package federate

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
)

// thisControlPlane is the id of the control plane under test; otherControlPlane is another one.
const (
	thisControlPlane  = "cp-a"
	otherControlPlane = "cp-b"
)

// object builds an unstructured object fluently. Values must be JSON values as unstructured
// holds them: string, bool, int64, float64, nil, map[string]any or []any.
type object struct{ u *unstructured.Unstructured }

func newObject(apiVersion, kind, name string) *object {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetName(name)
	return &object{u: u}
}

// set sets the field at path to a copy of value.
func (o *object) set(value any, path ...string) *object {
	if err := unstructured.SetNestedField(o.u.Object, value, path...); err != nil {
		panic(fmt.Sprintf("failed to set %v: %v", path, err))
	}
	return o
}

// remove deletes the field at path.
func (o *object) remove(path ...string) *object {
	unstructured.RemoveNestedField(o.u.Object, path...)
	return o
}

func (o *object) label(key, value string) *object {
	labels := o.u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[key] = value
	o.u.SetLabels(labels)
	return o
}

func (o *object) annotate(key, value string) *object {
	annotations := o.u.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[key] = value
	o.u.SetAnnotations(annotations)
	return o
}

// managedBy marks the object as managed by the given control plane, as rendered objects are.
func (o *object) managedBy(controlPlane string) *object {
	return o.label(contract.ManagedLabel, "true").annotate(contract.ControlPlaneAnnotation, controlPlane)
}

// deleting sets a deletion timestamp, as on an object that the API server is deleting.
func (o *object) deleting() *object {
	ts := metav1.Unix(1700000000, 0)
	o.u.SetDeletionTimestamp(&ts)
	return o
}

// serverFields adds what a member's API server sets on every object it stores.
func (o *object) serverFields() *object {
	return o.set("0d9e3f5a-2f53-4a4e-9d3b-5b1c3b0e7c11", "metadata", "uid").
		set("12345", "metadata", "resourceVersion").
		set(int64(1), "metadata", "generation").
		set("2024-01-01T00:00:00Z", "metadata", "creationTimestamp")
}

func (o *object) build() *unstructured.Unstructured { return o.u.DeepCopy() }

// deployment is the desired Deployment most cases start from.
func deployment() *object {
	return newObject("apps/v1", "Deployment", "web").
		set("default", "metadata", "namespace").
		managedBy(thisControlPlane).
		set(int64(3), "spec", "replicas").
		set(map[string]any{"matchLabels": map[string]any{"app": "web"}}, "spec", "selector").
		set(map[string]any{"app": "web"}, "spec", "template", "metadata", "labels").
		set([]any{map[string]any{"name": "web", "image": "nginx:1.25"}}, "spec", "template", "spec", "containers")
}

// withResources sets the first container's resources of a deployment() object.
func withResources(o *object, resources map[string]any) *object {
	return o.set([]any{map[string]any{"name": "web", "image": "nginx:1.25", "resources": resources}},
		"spec", "template", "spec", "containers")
}

// cpu returns container resources that request the given cpu.
func cpu(v any) map[string]any { return map[string]any{"requests": map[string]any{"cpu": v}} }

// memory returns container resources limited to the given memory.
func memory(v any) map[string]any { return map[string]any{"limits": map[string]any{"memory": v}} }

func secret() *object {
	return newObject("v1", "Secret", "db").set("default", "metadata", "namespace").managedBy(thisControlPlane)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func configMap(data map[string]any) *object {
	return newObject("v1", "ConfigMap", "settings").
		set("default", "metadata", "namespace").
		managedBy(thisControlPlane).
		set(data, "data")
}

func TestMatches(t *testing.T) {
	cases := []struct {
		name            string
		desired, actual *unstructured.Unstructured
		want            bool
	}{
		{
			name:    "identical objects match",
			desired: deployment().build(),
			actual:  deployment().build(),
			want:    true,
		},
		{
			name:    "fields only the member has (server defaults, other labels, status) do not matter",
			desired: deployment().build(),
			actual: deployment().serverFields().
				label("team", "payments").
				annotate("deployment.kubernetes.io/revision", "2").
				set(int64(10), "spec", "revisionHistoryLimit").
				set(map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxSurge": "25%", "maxUnavailable": "25%"}}, "spec", "strategy").
				set(map[string]any{"replicas": int64(3), "readyReplicas": int64(3), "observedGeneration": int64(1)}, "status").
				build(),
			want: true,
		},
		{
			name:    "a changed scalar does not match",
			desired: deployment().build(),
			actual:  deployment().set(int64(5), "spec", "replicas").build(),
			want:    false,
		},
		{
			name:    "a changed string in a nested map does not match",
			desired: deployment().build(),
			actual:  deployment().set(map[string]any{"app": "api"}, "spec", "template", "metadata", "labels").build(),
			want:    false,
		},
		{
			name:    "a desired field missing from the member does not match",
			desired: deployment().set(int64(10), "spec", "minReadySeconds").build(),
			actual:  deployment().build(),
			want:    false,
		},
		{
			name:    "a whole desired map missing from the member does not match",
			desired: deployment().build(),
			actual:  deployment().remove("spec", "selector").build(),
			want:    false,
		},
		{
			name: "list elements match with extra defaulted fields",
			desired: deployment().set([]any{map[string]any{
				"name":  "web",
				"image": "nginx:1.25",
				"ports": []any{map[string]any{"containerPort": int64(80)}},
			}}, "spec", "template", "spec", "containers").build(),
			actual: deployment().set([]any{map[string]any{
				"name":                     "web",
				"image":                    "nginx:1.25",
				"imagePullPolicy":          "IfNotPresent",
				"terminationMessagePath":   "/dev/termination-log",
				"terminationMessagePolicy": "File",
				"resources":                map[string]any{},
				"ports":                    []any{map[string]any{"containerPort": int64(80), "protocol": "TCP"}},
			}}, "spec", "template", "spec", "containers").build(),
			want: true,
		},
		{
			name:    "a changed field in a list element does not match",
			desired: deployment().build(),
			actual:  deployment().set([]any{map[string]any{"name": "web", "image": "nginx:1.26", "imagePullPolicy": "IfNotPresent"}}, "spec", "template", "spec", "containers").build(),
			want:    false,
		},
		{
			name:    "a member list with an extra element does not match",
			desired: deployment().build(),
			actual: deployment().set([]any{
				map[string]any{"name": "web", "image": "nginx:1.25"},
				map[string]any{"name": "proxy", "image": "envoy:1.30"},
			}, "spec", "template", "spec", "containers").build(),
			want: false,
		},
		{
			name: "a member list with a missing element does not match",
			desired: deployment().set([]any{
				map[string]any{"name": "web", "image": "nginx:1.25"},
				map[string]any{"name": "proxy", "image": "envoy:1.30"},
			}, "spec", "template", "spec", "containers").build(),
			actual: deployment().build(),
			want:   false,
		},
		{
			name: "empty desired map, empty list and null match missing fields",
			desired: deployment().
				set(map[string]any{}, "spec", "strategy").
				set(nil, "spec", "template", "metadata", "creationTimestamp").
				set([]any{map[string]any{"name": "web", "image": "nginx:1.25", "args": []any{}, "resources": map[string]any{}}}, "spec", "template", "spec", "containers").
				build(),
			actual: deployment().build(),
			want:   true,
		},
		{
			name:    "empty desired list and map match null member values",
			desired: deployment().set([]any{}, "spec", "template", "spec", "volumes").set(map[string]any{}, "spec", "template", "spec", "nodeSelector").build(),
			actual:  deployment().set(nil, "spec", "template", "spec", "volumes").set(nil, "spec", "template", "spec", "nodeSelector").build(),
			want:    true,
		},
		{
			name:    "empty desired list does not match a non-empty member list",
			desired: deployment().set([]any{map[string]any{"name": "web", "image": "nginx:1.25", "args": []any{}}}, "spec", "template", "spec", "containers").build(),
			actual:  deployment().set([]any{map[string]any{"name": "web", "image": "nginx:1.25", "args": []any{"-v"}}}, "spec", "template", "spec", "containers").build(),
			want:    false,
		},
		{
			name:    "an integer matches a floating-point number of the same value",
			desired: deployment().set(int64(3), "spec", "replicas").build(),
			actual:  deployment().set(float64(3), "spec", "replicas").build(),
			want:    true,
		},
		{
			name:    "a floating-point number matches an integer of the same value",
			desired: deployment().set(float64(3), "spec", "replicas").build(),
			actual:  deployment().set(int64(3), "spec", "replicas").build(),
			want:    true,
		},
		{
			name:    "an integer does not match a floating-point number of another value",
			desired: deployment().set(int64(3), "spec", "replicas").build(),
			actual:  deployment().set(3.5, "spec", "replicas").build(),
			want:    false,
		},
		{
			name:    "a string does not match a number",
			desired: deployment().set("3", "spec", "replicas").build(),
			actual:  deployment().set(int64(3), "spec", "replicas").build(),
			want:    false,
		},
		{
			name:    "a boolean does not match its opposite",
			desired: deployment().set(false, "spec", "paused").build(),
			actual:  deployment().set(true, "spec", "paused").build(),
			want:    false,
		},
		{
			name:    `quantity "0.5" matches its canonical form "500m"`,
			desired: withResources(deployment(), cpu("0.5")).build(),
			actual:  withResources(deployment(), cpu("500m")).build(),
			want:    true,
		},
		{
			name:    `quantity 0.5 written as a number matches "500m"`,
			desired: withResources(deployment(), cpu(0.5)).build(),
			actual:  withResources(deployment(), cpu("500m")).build(),
			want:    true,
		},
		{
			name:    `quantity 1 written as an integer matches "1"`,
			desired: withResources(deployment(), cpu(int64(1))).build(),
			actual:  withResources(deployment(), cpu("1")).build(),
			want:    true,
		},
		{
			name:    `quantity "1Gi" matches "1073741824"`,
			desired: withResources(deployment(), memory("1Gi")).build(),
			actual:  withResources(deployment(), memory("1073741824")).build(),
			want:    true,
		},
		{
			name:    `quantity "1Gi" does not match "1G"`,
			desired: withResources(deployment(), memory("1Gi")).build(),
			actual:  withResources(deployment(), memory("1G")).build(),
			want:    false,
		},
		{
			name:    `quantity "1" does not match "2"`,
			desired: withResources(deployment(), cpu("1")).build(),
			actual:  withResources(deployment(), cpu("2")).build(),
			want:    false,
		},
		{
			name:    "a Secret's stringData matches the base64 data the API server stores",
			desired: secret().set(map[string]any{"password": "s3cret"}, "stringData").build(),
			actual:  secret().serverFields().set(map[string]any{"password": b64("s3cret")}, "data").set("Opaque", "type").build(),
			want:    true,
		},
		{
			name:    "a Secret's changed value does not match its stringData",
			desired: secret().set(map[string]any{"password": "s3cret"}, "stringData").build(),
			actual:  secret().set(map[string]any{"password": b64("other")}, "data").build(),
			want:    false,
		},
		{
			name:    "a Secret's stringData key missing from the stored data does not match",
			desired: secret().set(map[string]any{"password": "s3cret"}, "stringData").build(),
			actual:  secret().set(map[string]any{"user": b64("admin")}, "data").build(),
			want:    false,
		},
		{
			name: "a Secret's data and stringData match the merged stored data, stringData winning",
			desired: secret().
				set(map[string]any{"user": b64("admin"), "password": b64("old")}, "data").
				set(map[string]any{"password": "s3cret"}, "stringData").
				build(),
			actual: secret().set(map[string]any{"user": b64("admin"), "password": b64("s3cret")}, "data").build(),
			want:   true,
		},
		{
			name:    "stringData of a kind other than Secret is compared as it is",
			desired: newObject("example.com/v1", "Secret", "db").set(map[string]any{"password": "s3cret"}, "stringData").build(),
			actual:  newObject("example.com/v1", "Secret", "db").set(map[string]any{"password": b64("s3cret")}, "data").build(),
			want:    false,
		},
		{
			name:    "a member without the control-plane annotation does not match",
			desired: deployment().build(),
			actual:  deployment().serverFields().remove("metadata", "annotations", contract.ControlPlaneAnnotation).build(),
			want:    false,
		},
		{
			name:    "a member whose control-plane annotation names another control plane does not match",
			desired: deployment().build(),
			actual:  deployment().annotate(contract.ControlPlaneAnnotation, otherControlPlane).build(),
			want:    false,
		},
		{
			name:    "a member without the managed label does not match",
			desired: deployment().build(),
			actual:  deployment().remove("metadata", "labels", contract.ManagedLabel).build(),
			want:    false,
		},
		{
			name:    "ConfigMap data that is not a quantity is compared as a string",
			desired: configMap(map[string]any{"mode": "fast"}).build(),
			actual:  configMap(map[string]any{"mode": "slow"}).build(),
			want:    false,
		},
		{
			name:    `ConfigMap data "1.10" does not match "1.1": strings outside resource lists are not quantities`,
			desired: configMap(map[string]any{"version": "1.10"}).build(),
			actual:  configMap(map[string]any{"version": "1.1"}).build(),
			want:    false,
		},
		{
			name:    "a desired null matches a value that the server sets",
			desired: deployment().set(nil, "metadata", "creationTimestamp").build(),
			actual:  deployment().serverFields().build(),
			want:    true,
		},
		{
			name:    "integers above 2^53 that differ do not match",
			desired: deployment().set(int64(1<<53+1), "spec", "template", "spec", "activeDeadlineSeconds").build(),
			actual:  deployment().set(int64(1<<53), "spec", "template", "spec", "activeDeadlineSeconds").build(),
			want:    false,
		},
		{
			name:    "a desired false matches a missing field, as the server omits it",
			desired: deployment().set(false, "spec", "paused").build(),
			actual:  deployment().build(),
			want:    true,
		},
		{
			name:    "a desired true does not match a missing field",
			desired: deployment().set(true, "spec", "paused").build(),
			actual:  deployment().build(),
			want:    false,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Matches(tc.desired, tc.actual); got != tc.want {
				t.Errorf("Matches() = %v, want %v", got, tc.want)
			}
			if drift := Drift(tc.desired, tc.actual); (len(drift) == 0) != tc.want {
				t.Errorf("Drift() = %v, want it empty exactly when the objects match (%v)", drift, tc.want)
			}
		})
	}
}

func TestDriftNamesEachFieldThatDiffers(t *testing.T) {
	desired := deployment().set(int64(3), "spec", "replicas").label("tier", "web").build()
	actual := deployment().serverFields().set(int64(5), "spec", "replicas").
		set([]any{map[string]any{"name": "web", "image": "nginx:1.17", "imagePullPolicy": "IfNotPresent"}}, "spec", "template", "spec", "containers").
		build()
	want := []string{"/metadata/labels/tier", "/spec/replicas", "/spec/template/spec/containers/0/image"}
	if diff := cmp.Diff(want, Drift(desired, actual)); diff != "" {
		t.Errorf("Drift() (-want +got):\n%s", diff)
	}
}

// TestMatchesDoesNotModify checks that the desired and member objects are left as they were,
// Secrets included, since callers go on to apply the desired object.
func TestMatchesDoesNotModify(t *testing.T) {
	cases := []struct {
		name            string
		desired, actual *unstructured.Unstructured
	}{
		{
			name:    "a Deployment",
			desired: deployment().build(),
			actual:  deployment().serverFields().build(),
		},
		{
			name:    "a Secret with stringData",
			desired: secret().set(map[string]any{"user": b64("admin")}, "data").set(map[string]any{"password": "s3cret"}, "stringData").build(),
			actual:  secret().set(map[string]any{"user": b64("admin"), "password": b64("s3cret")}, "data").build(),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			desired, actual := tc.desired.DeepCopy(), tc.actual.DeepCopy()
			Matches(desired, actual)
			if diff := cmp.Diff(tc.desired.Object, desired.Object); diff != "" {
				t.Errorf("Matches() changed the desired object (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.actual.Object, actual.Object); diff != "" {
				t.Errorf("Matches() changed the member object (-want +got):\n%s", diff)
			}
		})
	}
}
