package cluster

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The slim copy that a cached metadata stands for is the slim copy of the whole object, so
// that decisions cannot tell how a kind is cached.
func TestMetadataStandsForTheSlimCopyOfTheObject(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{{
		name: "a managed config map with its history of writers",
		raw: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web","namespace":"bench","uid":"0f3c","resourceVersion":"812",` +
			`"creationTimestamp":"2026-12-03T08:00:00Z","labels":{"kubefed.io/managed":"true"},"annotations":{"fedplane.io/applied":"abc"},` +
			`"ownerReferences":[{"apiVersion":"v1","kind":"Namespace","name":"bench","uid":"77"}],"finalizers":["example.com/keep"],` +
			`"managedFields":[{"manager":"fedplane","operation":"Apply","apiVersion":"v1","time":"2026-12-03T08:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:k":{}}}},` +
			`{"manager":"kubectl-edit","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:data":{}}}]},"data":{"k":"v"}}`,
	}, {
		name: "a secret being deleted, with a generation",
		raw: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"bench","generation":3,"resourceVersion":"9",` +
			`"creationTimestamp":"2026-12-03T08:00:00Z","deletionTimestamp":"2026-12-03T09:00:00Z","deletionGracePeriodSeconds":0},"type":"Opaque","data":{"k":"dg=="}}`,
	}, {
		name: "a role binding with no labels nor annotations",
		raw:  `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"rb","namespace":"n","creationTimestamp":"2026-12-03T08:00:00Z"},"roleRef":{"kind":"Role","name":"r","apiGroup":"rbac.authorization.k8s.io"}}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole := &unstructured.Unstructured{}
			if err := whole.UnmarshalJSON([]byte(tt.raw)); err != nil {
				t.Fatal(err)
			}
			gvk := whole.GroupVersionKind()
			if !MetadataOnly(gvk) {
				t.Fatalf("%s is not cached as metadata only", gvk)
			}
			p := &metav1.PartialObjectMetadata{}
			if err := json.Unmarshal([]byte(tt.raw), p); err != nil {
				t.Fatal(err)
			}
			got, err := fromMetadata(slimMetadata(p), gvk)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Slim(whole).Object, got.Object); diff != "" {
				t.Errorf("slim copy from the metadata (-from the whole object +from the metadata):\n%s", diff)
			}
			if !IsSlim(got) {
				t.Error("the copy from the metadata is not marked slim")
			}
		})
	}
}

// Kinds whose decisions read their status or replicas are cached whole (and slimmed).
func TestKindsWithStatusOrReplicasAreNotMetadataOnly(t *testing.T) {
	for _, gvk := range []schema.GroupVersionKind{
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Group: "apps", Version: "v1", Kind: "ReplicaSet"},
		{Group: "batch", Version: "v1", Kind: "Job"},
		{Version: "v1", Kind: "Service"},
		{Version: "v1", Kind: "Namespace"},
		{Version: "v1", Kind: "Pod"},
		{Group: "example.com", Version: "v1", Kind: "ConfigMap"},
	} {
		if MetadataOnly(gvk) {
			t.Errorf("%s is cached as metadata only", gvk)
		}
		if _, ok := cacheObject(gvk).(*unstructured.Unstructured); !ok {
			t.Errorf("%s is not read from the member cache as an unstructured object", gvk)
		}
	}
	if _, ok := cacheObject(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}).(*metav1.PartialObjectMetadata); !ok {
		t.Error("config maps are not read from the member cache as metadata")
	}
}
