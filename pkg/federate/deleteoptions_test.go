package federate

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
)

// deleteRecorder is an API server that answers every DELETE with success and keeps the
// DeleteOptions of the last one.
type deleteRecorder struct {
	srv  *httptest.Server
	got  *metav1.DeleteOptions
	path string
}

func newDeleteRecorder(t *testing.T) *deleteRecorder {
	t.Helper()
	d := &deleteRecorder{}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodDelete {
			http.Error(w, "only DELETE is expected", http.StatusMethodNotAllowed)
			return
		}
		body, _ := io.ReadAll(r.Body)
		d.got, d.path = &metav1.DeleteOptions{}, r.URL.Path
		if err := json.Unmarshal(body, d.got); err != nil {
			t.Errorf("DELETE body %q is not DeleteOptions: %v", body, err)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Success"}`))
	}))
	t.Cleanup(d.srv.Close)
	return d
}

// client is a controller-runtime client of the recorder, as the member clients are.
func (d *deleteRecorder) client(t *testing.T) client.Client {
	t.Helper()
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	c, err := client.New(&rest.Config{Host: d.srv.URL}, client.Options{Scheme: runtime.NewScheme(), Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMemberDeleteOptionsReachTheRequest sends the DELETE that act sends for each field of
// the kubefed.io/deleteoption annotation, and checks what the member's API server receives.
func TestMemberDeleteOptionsReachTheRequest(t *testing.T) {
	const copyUID = types.UID("uid-of-the-copy")
	orphan, background := metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground
	cases := []struct {
		name       string
		annotation string
		want       *metav1.DeleteOptions
	}{
		{
			name: "no annotation: only the UID of the copy that was read",
			want: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(copyUID)}},
		},
		{
			name:       "propagationPolicy Orphan",
			annotation: `{"propagationPolicy":"Orphan"}`,
			want:       &metav1.DeleteOptions{PropagationPolicy: &orphan, Preconditions: &metav1.Preconditions{UID: ptr.To(copyUID)}},
		},
		{
			name:       "propagationPolicy Background",
			annotation: `{"propagationPolicy":"Background"}`,
			want:       &metav1.DeleteOptions{PropagationPolicy: &background, Preconditions: &metav1.Preconditions{UID: ptr.To(copyUID)}},
		},
		{
			name:       "gracePeriodSeconds",
			annotation: `{"gracePeriodSeconds":7}`,
			want:       &metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](7), Preconditions: &metav1.Preconditions{UID: ptr.To(copyUID)}},
		},
		{
			name:       "gracePeriodSeconds 0 is kept, not dropped as unset",
			annotation: `{"gracePeriodSeconds":0}`,
			want:       &metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: ptr.To(copyUID)}},
		},
		{
			name:       "orphanDependents",
			annotation: `{"orphanDependents":true}`,
			//nolint:staticcheck // The deprecated field is part of what KubeFed's annotation may say.
			want: &metav1.DeleteOptions{OrphanDependents: ptr.To(true), Preconditions: &metav1.Preconditions{UID: ptr.To(copyUID)}},
		},
		{
			name:       "preconditions.resourceVersion is kept with the UID of the copy",
			annotation: `{"preconditions":{"resourceVersion":"42"}}`,
			want:       &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(copyUID), ResourceVersion: ptr.To("42")}},
		},
		{
			name:       "preconditions.uid that is the copy's",
			annotation: `{"preconditions":{"uid":"uid-of-the-copy","resourceVersion":"42"}}`,
			want:       &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(copyUID), ResourceVersion: ptr.To("42")}},
		},
		{
			// orphanDependents is left out: the API server refuses it with propagationPolicy.
			name:       "every field at once",
			annotation: `{"gracePeriodSeconds":3,"propagationPolicy":"Orphan","preconditions":{"resourceVersion":"9"}}`,
			want: &metav1.DeleteOptions{
				GracePeriodSeconds: ptr.To[int64](3), PropagationPolicy: &orphan,
				Preconditions: &metav1.Preconditions{UID: ptr.To(copyUID), ResourceVersion: ptr.To("9")},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := newDeleteRecorder(t)
			fed := fedWithDeleteOption(tc.annotation)
			existing := copyWithUID(copyUID)
			opts, err := memberDeleteOptions(fed, existing)
			if err != nil {
				t.Fatalf("memberDeleteOptions: %v", err)
			}
			if err := rec.client(t).Delete(context.Background(), existing, opts); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if rec.got == nil {
				t.Fatal("no DELETE reached the server")
			}
			if !strings.HasSuffix(rec.path, "/namespaces/ns/configmaps/cm") {
				t.Errorf("DELETE went to %s", rec.path)
			}
			// The request's type meta is not an option.
			rec.got.TypeMeta = metav1.TypeMeta{}
			if diff := cmp.Diff(tc.want, rec.got); diff != "" {
				t.Errorf("DeleteOptions received (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMemberDeleteOptionsRefused covers the annotations that are refused before any request:
// each error names what is wrong.
func TestMemberDeleteOptionsRefused(t *testing.T) {
	cases := []struct {
		name       string
		annotation string
		wantErr    string
	}{
		{name: "not JSON", annotation: `{propagationPolicy: Orphan}`, wantErr: "not valid DeleteOptions JSON"},
		{name: "dryRun: the copy would never be deleted", annotation: `{"dryRun":["All"]}`, wantErr: "dryRun is not supported"},
		{name: "a UID that is not the copy's", annotation: `{"preconditions":{"uid":"another"}}`, wantErr: "preconditions.uid another is not the UID of the member object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := memberDeleteOptions(fedWithDeleteOption(tc.annotation), copyWithUID("uid-of-the-copy"))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), contract.DeleteOptionAnnotation) {
				t.Errorf("error %v, want one that names %s and says %q", err, contract.DeleteOptionAnnotation, tc.wantErr)
			}
		})
	}
}

func fedWithDeleteOption(annotation string) *unstructured.Unstructured {
	fed := newObject("types.kubefed.io/v1beta1", "FederatedConfigMap", "cm").build()
	fed.SetNamespace("ns")
	if annotation != "" {
		fed.SetAnnotations(map[string]string{contract.DeleteOptionAnnotation: annotation})
	}
	return fed
}

func copyWithUID(uid types.UID) *unstructured.Unstructured {
	obj := newObject("v1", "ConfigMap", "cm").build()
	obj.SetNamespace("ns")
	obj.SetUID(uid)
	return obj
}
