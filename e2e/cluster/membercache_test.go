package cluster_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// acceptLog records the Accept header of every request that names a resource.
type acceptLog struct {
	next     http.RoundTripper
	resource string
	mu       sync.Mutex
	accepts  []string
}

func (l *acceptLog) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.URL.Path, "/"+l.resource) {
		l.mu.Lock()
		l.accepts = append(l.accepts, req.Method+" "+req.URL.RawQuery+" "+req.Header.Get("Accept"))
		l.mu.Unlock()
	}
	return l.next.RoundTrip(req)
}

func (l *acceptLog) seen() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.accepts...)
}

// A member's cache of config maps lists and watches their metadata alone, in protobuf, so that
// neither its memory nor its decoding grows with their data; a read of one gives the slim copy
// that a cache of whole objects would give.
func TestMemberCacheHoldsConfigMapsAsMetadata(t *testing.T) {
	framework.Require(t, lab)
	ctx := t.Context()
	m1 := lab.Cluster("m1")
	direct, err := client.New(m1.RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 64<<10)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "metadata-only", Namespace: "default", Labels: map[string]string{contract.ManagedLabel: "true"}, Annotations: map[string]string{"example.com/note": "kept"}},
		Data:       map[string]string{"big": big},
	}
	if err := direct.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = direct.Delete(ctx, cm) })

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	gvk := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	members := &cluster.Cache{Scheme: scheme, Namespace: "kube-federation-system"}
	members.AddKind(gvk, "configmaps", true)
	release := members.Hold(gvk)
	t.Cleanup(release)
	log := &acceptLog{resource: "configmaps"}
	cfg := m1.RESTConfig()
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { log.next = rt; return log }
	if err := members.Connect(ctx, "m1", cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { members.Disconnect("m1") })

	var got *unstructured.Unstructured
	deadline := time.Now().Add(30 * time.Second)
	for got == nil {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		synced, err := members.GetSynced(ctx, "m1", client.ObjectKeyFromObject(cm), u)
		switch {
		case synced && err == nil:
			got = u
		case time.Now().After(deadline):
			t.Fatalf("the member cache did not give the config map in 30 s: synced %v, error %v", synced, err)
		default:
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !cluster.IsSlim(got) {
		t.Error("the cached copy is not marked slim")
	}
	if _, ok := got.Object["data"]; ok {
		t.Error("the cached copy holds the config map's data")
	}
	if got.GetKind() != "ConfigMap" || got.GetAPIVersion() != "v1" {
		t.Errorf("cached copy kind %q apiVersion %q, want ConfigMap v1", got.GetKind(), got.GetAPIVersion())
	}
	if got.GetResourceVersion() != cm.ResourceVersion || got.GetUID() != cm.UID {
		t.Errorf("cached copy resourceVersion %q uid %q, want %q %q", got.GetResourceVersion(), got.GetUID(), cm.ResourceVersion, cm.UID)
	}
	if got.GetLabels()[contract.ManagedLabel] != "true" || got.GetAnnotations()["example.com/note"] != "kept" {
		t.Errorf("cached copy labels %v annotations %v, want the managed label and the note", got.GetLabels(), got.GetAnnotations())
	}
	if len(got.GetManagedFields()) == 0 || got.GetManagedFields()[0].Manager == "" || got.GetManagedFields()[0].FieldsV1 != nil {
		t.Errorf("cached copy managed fields %+v, want who wrote it without the fields", got.GetManagedFields())
	}

	seen := log.seen()
	if len(seen) == 0 {
		t.Fatal("no list or watch of config maps went to the member")
	}
	for _, s := range seen {
		if !strings.Contains(s, "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata") {
			t.Errorf("a request for config maps did not ask for their metadata in protobuf: %s", s)
		}
	}
	t.Logf("requests for config maps: %q", seen)
}
