package cluster_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/hostcache"
)

// The host cache holds unstructured objects compact, and its reads and handlers give them
// back unstructured: a Get, a List by namespace and label, and the notifications of a watch.
func TestHostCacheGivesCompactObjectsBackUnstructured(t *testing.T) {
	framework.Require(t, lab)
	ctx := t.Context()
	cfg := lab.Host().RESTConfig()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	direct, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	gvk := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	object := func(name string, app string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"data": map[string]any{"k": name}}}
		u.SetGroupVersionKind(gvk)
		u.SetNamespace("default")
		u.SetName(name)
		u.SetLabels(map[string]string{"hostcache-test": app})
		return u
	}
	for _, o := range []*unstructured.Unstructured{object("hc-a", "web"), object("hc-b", "web"), object("hc-c", "db")} {
		if err := direct.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = direct.Delete(ctx, o) })
	}

	inner, err := cache.New(cfg, cache.Options{Scheme: scheme, DefaultTransform: hostcache.Transform()})
	if err != nil {
		t.Fatal(err)
	}
	c := hostcache.New(inner)
	go func() { _ = c.Start(ctx) }()

	probe := &unstructured.Unstructured{}
	probe.SetGroupVersionKind(gvk)
	inf, err := c.GetInformer(ctx, probe)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var notified []any
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { mu.Lock(); notified = append(notified, o); mu.Unlock() },
		UpdateFunc: func(_, n any) { mu.Lock(); notified = append(notified, n); mu.Unlock() },
	}); err != nil {
		t.Fatal(err)
	}

	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(gvk)
	// Until the cache has started and listed the kind, a read fails: it never says NotFound.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hc-a"}, got)
		if err == nil {
			break
		}
		var notStarted *cache.ErrCacheNotStarted
		if !errors.As(err, &notStarted) || time.Now().After(deadline) {
			t.Fatalf("Get() error = %v, want nil once the cache has listed the kind, ErrCacheNotStarted before", err)
		}
	}
	if got.GetName() != "hc-a" || got.GetKind() != "ConfigMap" || got.Object["data"].(map[string]any)["k"] != "hc-a" || got.GetUID() == "" || got.GetManagedFields() != nil {
		t.Errorf("Get() = %v, want hc-a with its data and uid, without managed fields", got.Object)
	}
	missing := &unstructured.Unstructured{}
	missing.SetGroupVersionKind(gvk)
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hc-none"}, missing); !apierrors.IsNotFound(err) {
		t.Errorf("Get() of a missing object: error %v, want NotFound", err)
	}

	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind("ConfigMapList"))
	if err := c.List(ctx, list, client.InNamespace("default"), client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(labels.Set{"hostcache-test": "web"})}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, item := range list.Items {
		names = append(names, item.GetName())
		if item.GetKind() != "ConfigMap" {
			t.Errorf("listed %s has kind %q", item.GetName(), item.GetKind())
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"hc-a", "hc-b"}) {
		t.Errorf("List() by label = %v, want hc-a and hc-b", names)
	}
	keys := &unstructured.UnstructuredList{}
	keys.SetGroupVersionKind(gvk.GroupVersion().WithKind("ConfigMapList"))
	if err := c.List(ctx, keys, client.InNamespace("default"), client.MatchingLabels{"hostcache-test": "db"}, hostcache.MetadataOnly{}); err != nil {
		t.Fatal(err)
	}
	if len(keys.Items) != 1 || keys.Items[0].GetName() != "hc-c" || keys.Items[0].GetUID() == "" || keys.Items[0].Object["data"] != nil {
		t.Errorf("List() of metadata only = %v, want hc-c's metadata without its data", keys.Items)
	}
	if err := c.List(ctx, list, client.MatchingFields{"metadata.name": "hc-a"}); err == nil {
		t.Error("List() by field was not refused")
	}

	changed := object("hc-c", "db")
	if err := direct.Get(ctx, client.ObjectKeyFromObject(changed), changed); err != nil {
		t.Fatal(err)
	}
	changed.Object["data"] = map[string]any{"k": "changed"}
	if err := direct.Update(ctx, changed); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		seen := append([]any(nil), notified...)
		mu.Unlock()
		sawChange := false
		for _, o := range seen {
			u, ok := o.(*unstructured.Unstructured)
			if !ok {
				t.Fatalf("a handler got a %T, want an unstructured object", o)
			}
			if u.GetName() == "hc-c" && u.Object["data"].(map[string]any)["k"] == "changed" {
				sawChange = true
			}
		}
		if sawChange {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no notification of hc-c's change in 30 s (%d notifications)", len(seen))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
