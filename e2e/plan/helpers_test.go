package plan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
)

// planOutput is the JSON contract of `fedctl plan -o json`, as docs/fedctl.md gives it.
type planOutput struct {
	Items []struct {
		Kind      string `json:"kind"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Clusters  []struct {
			Name     string         `json:"name"`
			Selected bool           `json:"selected"`
			Reason   string         `json:"reason"`
			Object   map[string]any `json:"object"`
		} `json:"clusters"`
		Errors []struct {
			Cluster string `json:"cluster"`
			Message string `json:"message"`
		} `json:"errors"`
		Warnings []struct {
			Cluster string `json:"cluster"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"warnings"`
	} `json:"items"`
}

// runPlan runs fedctl plan -o json with args and decodes what it prints.
func runPlan(t *testing.T, fedctl string, args ...string) planOutput {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), fedctl, append([]string{"plan", "-o", "json"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fedctl plan %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var p planOutput
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("fedctl plan printed what is not its JSON form: %v\n%s", err, out)
	}
	return p
}

// writeClusters writes the host's KubeFedClusters, status included, as one List manifest (as
// kubectl get -o yaml prints them) and returns its path.
func writeClusters(t *testing.T, host client.Client) string {
	t.Helper()
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(corev1beta1.GroupVersion.WithKind("KubeFedClusterList"))
	if err := host.List(t.Context(), list, client.InNamespace(corev1beta1.DefaultNamespace)); err != nil {
		t.Fatal(err)
	}
	objs := make([]*unstructured.Unstructured, 0, len(list.Items))
	for i := range list.Items {
		objs = append(objs, &list.Items[i])
	}
	return writeObjects(t, objs...)
}

// writeObjects writes objs as one List manifest and returns its path.
func writeObjects(t *testing.T, objs ...*unstructured.Unstructured) string {
	t.Helper()
	items := []any{}
	for _, o := range objs {
		items = append(items, o.Object)
	}
	b, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "objects.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// memberFields reads the member object that planned describes, and returns the fields that
// fedplane applied to it (those its field manager owns), and planned without the fields that
// name the object (apiVersion, kind, metadata.name and metadata.namespace), each as JSON.
func memberFields(ctx context.Context, member client.Client, planned map[string]any) (got, want []byte, err error) {
	u := unstructured.Unstructured{Object: planned}
	obj, err := framework.GetObject(ctx, member, schema.FromAPIVersionAndKind(u.GetAPIVersion(), u.GetKind()), u.GetNamespace(), u.GetName())
	if err != nil {
		return nil, nil, fmt.Errorf("failed to read the member's %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	if obj == nil {
		return nil, nil, fmt.Errorf("the member has no %s %s", u.GetKind(), u.GetName())
	}
	owned, created, err := appliedFields(obj)
	if err != nil {
		return nil, nil, err
	}
	expected := u.DeepCopy()
	unstructured.RemoveNestedField(expected.Object, "apiVersion")
	unstructured.RemoveNestedField(expected.Object, "kind")
	unstructured.RemoveNestedField(expected.Object, "metadata", "name")
	unstructured.RemoveNestedField(expected.Object, "metadata", "namespace")
	if created {
		// The fields of a create are the object as the API server defaulted it: of them, the
		// planned ones must be there with the planned values.
		owned = shapedLike(owned, expected.Object)
	}
	if got, err = json.Marshal(owned); err != nil {
		return nil, nil, err
	}
	want, err = json.Marshal(expected.Object)
	return got, want, err
}

// appliedFields is the part of obj whose fields fedplane owns: those of its server-side apply,
// or, for a copy it created and has not applied to since, those of its create (created).
func appliedFields(obj *unstructured.Unstructured) (fields any, created bool, err error) {
	var createdSet map[string]any
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != contract.FieldOwner || mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		var set map[string]any
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &set); err != nil {
			return nil, false, fmt.Errorf("failed to decode the managed fields: %w", err)
		}
		switch mf.Operation {
		case "Apply":
			fields, err := project(obj.Object, set)
			return fields, false, err
		case "Update":
			createdSet = set
		}
	}
	if createdSet != nil {
		fields, err := project(obj.Object, createdSet)
		return fields, true, err
	}
	return nil, false, fmt.Errorf("no field of %s %s is written by %s", obj.GetKind(), obj.GetName(), contract.FieldOwner)
}

// shapedLike keeps of v the members that like has, at every depth; lists of the same length
// are shaped item by item.
func shapedLike(v, like any) any {
	switch l := like.(type) {
	case map[string]any:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := map[string]any{}
		for k, sub := range l {
			if child, found := m[k]; found {
				out[k] = shapedLike(child, sub)
			}
		}
		return out
	case []any:
		items, ok := v.([]any)
		if !ok || len(items) != len(l) {
			return v
		}
		out := make([]any, len(items))
		for i := range items {
			out[i] = shapedLike(items[i], l[i])
		}
		return out
	}
	return v
}

// project keeps of v what the field set (the managedFields encoding: f:NAME for object members,
// k:{...} and v:... for list items, "." for the node itself) names. An empty set owns the whole
// value (a scalar or an atomic list).
func project(v any, set map[string]any) (any, error) {
	members := 0
	for k := range set {
		if k != "." {
			members++
		}
	}
	if members == 0 {
		if _, isObject := v.(map[string]any); isObject && len(set) > 0 {
			// Only the object itself is owned, none of its members.
			return map[string]any{}, nil
		}
		return v, nil
	}
	switch val := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, sub := range set {
			name, ok := strings.CutPrefix(k, "f:")
			if !ok {
				continue
			}
			child, found := val[name]
			if !found {
				continue
			}
			p, err := project(child, sub.(map[string]any))
			if err != nil {
				return nil, err
			}
			out[name] = p
		}
		return out, nil
	case []any:
		return projectList(val, set)
	}
	return nil, fmt.Errorf("a field set with members for a %T", v)
}

// projectList keeps the items of a list that the set names by key (k:) or value (v:), in the
// list's order.
func projectList(items []any, set map[string]any) (any, error) {
	out := []any{}
	for _, item := range items {
		for k, sub := range set {
			match, err := itemMatches(item, k)
			if err != nil {
				return nil, err
			}
			if !match {
				continue
			}
			p, err := project(item, sub.(map[string]any))
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func itemMatches(item any, key string) (bool, error) {
	switch {
	case key == ".":
		return false, nil
	case strings.HasPrefix(key, "k:"):
		var fields map[string]any
		if err := json.Unmarshal([]byte(key[2:]), &fields); err != nil {
			return false, err
		}
		m, ok := item.(map[string]any)
		if !ok {
			return false, nil
		}
		for f, want := range fields {
			if fmt.Sprint(m[f]) != fmt.Sprint(want) {
				return false, nil
			}
		}
		return true, nil
	case strings.HasPrefix(key, "v:"):
		var want any
		if err := json.Unmarshal([]byte(key[2:]), &want); err != nil {
			return false, err
		}
		return fmt.Sprint(item) == fmt.Sprint(want), nil
	}
	return false, fmt.Errorf("an unknown list key %q", key)
}
