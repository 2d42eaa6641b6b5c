package federate

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
	"github.com/fedplane/fedplane/pkg/cluster"
)

func TestCreatedFieldsEntry(t *testing.T) {
	entry := func(manager string, op metav1.ManagedFieldsOperationType, subresource string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Subresource: subresource}
	}
	const update, apply = metav1.ManagedFieldsOperationUpdate, metav1.ManagedFieldsOperationApply
	tests := []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		want    int
	}{
		{name: "no entries", want: -1},
		{name: "a copy this control plane created", entries: []metav1.ManagedFieldsEntry{entry(contract.FieldOwner, update, "")}, want: 0},
		{name: "created, and changed by someone else since", entries: []metav1.ManagedFieldsEntry{entry("kubectl", update, ""), entry(contract.FieldOwner, update, "")}, want: 1},
		{name: "a copy this control plane applied", entries: []metav1.ManagedFieldsEntry{entry(contract.FieldOwner, apply, "")}, want: -1},
		{name: "both an applied and a created entry: left as they are", entries: []metav1.ManagedFieldsEntry{entry(contract.FieldOwner, update, ""), entry(contract.FieldOwner, apply, "")}, want: -1},
		{name: "a status written by this control plane is not the copy's fields", entries: []metav1.ManagedFieldsEntry{entry(contract.FieldOwner, update, "status")}, want: -1},
		{name: "another writer's created entry", entries: []metav1.ManagedFieldsEntry{entry("user", update, "")}, want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{}}
			obj.SetManagedFields(tt.entries)
			if got := createdFieldsEntry(obj); got != tt.want {
				t.Errorf("createdFieldsEntry = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCreatedFieldsEntryOfASlimCopy(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"k": "v"}}}
	obj.SetName("web")
	obj.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: "ops", Operation: metav1.ManagedFieldsOperationUpdate, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{"f:team":{}}}}`)},
		{Manager: contract.FieldOwner, Operation: metav1.ManagedFieldsOperationUpdate, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:data":{"f:k":{}}}`)},
	})
	if got := createdFieldsEntry(cluster.Slim(obj)); got != 1 {
		t.Errorf("createdFieldsEntry of the slim copy = %d, want 1", got)
	}
}
