// Package hostcache keeps the host's unstructured objects (the federated objects, and the
// objects that auto-federation watches) compact in the host cache, and gives them back
// unstructured to every reader and event handler.
//
// An unstructured object is a tree of maps: a FederatedConfigMap of 2.5 KB of JSON, with five
// clusters in its overrides and status, takes about 12 KB of heap that way, most of it the
// overhead of its small maps. The cache holds each one as a Compact instead: its metadata,
// typed, and the rest of it as JSON, about a quarter of that. Reads (Get, List) and event
// handlers get a new unstructured object decoded from it, which is what the cache's own deep
// copy on every read used to cost.
package hostcache

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/pkg/intern"
)

// Compact is how the host cache holds an unstructured object: its metadata, without managed
// fields, and the rest of the object (apiVersion, kind, spec, status, and any other field) as
// JSON. Body is never changed once made, so copies share it.
type Compact struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	// Body is the object's JSON without its metadata.
	Body []byte `json:"-"`
}

// DeepCopyObject copies the metadata; the body, never changed, is shared.
func (c *Compact) DeepCopyObject() runtime.Object {
	out := &Compact{TypeMeta: c.TypeMeta, Body: c.Body}
	c.DeepCopyInto(&out.ObjectMeta)
	return out
}

// NewCompact is the compact form of u, whose managed fields are dropped. The strings of its
// metadata that repeat from object to object are interned.
func NewCompact(u *unstructured.Unstructured) (*Compact, error) {
	c := &Compact{}
	c.SetGroupVersionKind(u.GroupVersionKind())
	rest := make(map[string]any, len(u.Object))
	for k, v := range u.Object {
		if k != "metadata" {
			rest[k] = v
		}
	}
	if meta, ok := u.Object["metadata"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(meta, &c.ObjectMeta); err != nil {
			return nil, fmt.Errorf("failed to read the metadata of %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	body, err := json.Marshal(rest)
	if err != nil {
		return nil, fmt.Errorf("failed to encode %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	c.Body = body
	c.ManagedFields = nil
	intern.ObjectMeta(&c.ObjectMeta)
	return c, nil
}

// Unstructured is the object c holds, decoded afresh: changing it changes nothing in the cache.
func (c *Compact) Unstructured() (*unstructured.Unstructured, error) {
	obj := map[string]any{}
	if err := utiljson.Unmarshal(c.Body, &obj); err != nil {
		return nil, fmt.Errorf("failed to decode %s %s: %w", c.Kind, c.Name, err)
	}
	meta, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&c.ObjectMeta)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the metadata of %s %s: %w", c.Kind, c.Name, err)
	}
	obj["metadata"] = meta
	return &unstructured.Unstructured{Object: obj}, nil
}

// Transform is the host cache's transform: it drops the managed fields of every object, which
// nothing reads and which are a large part of each, and keeps unstructured objects compact. An
// object whose metadata cannot be read as typed metadata is kept unstructured.
func Transform() toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	return func(in any) (any, error) {
		out, err := strip(in)
		if err != nil {
			return out, err
		}
		u, ok := out.(*unstructured.Unstructured)
		if !ok {
			return out, nil
		}
		c, err := NewCompact(u)
		if err != nil {
			// Held as it came rather than dropped: readers take either form.
			return u, nil
		}
		return c, nil
	}
}

// New wraps a host cache whose transform is Transform, so that its readers and the handlers
// of its informers get unstructured objects, never a Compact.
func New(c cache.Cache) cache.Cache { return &compactCache{Cache: c} }

type compactCache struct {
	cache.Cache
}

// indexerOf is the store of obj's kind: the informer is started if it was not, and waited
// for, as a read of the cache waits for it. Before the cache has started, and while the
// informer has not listed the objects, it fails as a read of the cache does, never with an
// empty store that would say that objects are gone.
func (c *compactCache) indexerOf(ctx context.Context, obj client.Object) (toolscache.Indexer, error) {
	inf, err := c.Cache.GetInformer(ctx, obj)
	if err != nil {
		return nil, err
	}
	if !inf.HasSynced() {
		return nil, &cache.ErrCacheNotStarted{}
	}
	withIndexer, ok := inf.(interface{ GetIndexer() toolscache.Indexer })
	if !ok {
		return nil, fmt.Errorf("the informer of %s has no store to read", obj.GetObjectKind().GroupVersionKind())
	}
	return withIndexer.GetIndexer(), nil
}

// Get reads an unstructured object from its compact form; other objects are read as the
// cache reads them.
func (c *compactCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return c.Cache.Get(ctx, key, obj, opts...)
	}
	gvk := u.GroupVersionKind()
	indexer, err := c.indexerOf(ctx, u)
	if err != nil {
		return err
	}
	storeKey := key.Name
	if key.Namespace != "" {
		storeKey = key.Namespace + "/" + key.Name
	}
	item, exists, err := indexer.GetByKey(storeKey)
	if err != nil {
		return err
	}
	if !exists {
		return apierrors.NewNotFound(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, key.Name)
	}
	got, err := toUnstructured(item)
	if err != nil {
		return err
	}
	u.Object = got.Object
	u.SetGroupVersionKind(gvk)
	return nil
}

// List lists unstructured objects from their compact forms, in a namespace and by label;
// other lists are read as the cache reads them. A field selector, which nothing here uses
// on unstructured objects, is refused rather than ignored.
func (c *compactCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	ul, ok := list.(*unstructured.UnstructuredList)
	if !ok {
		return c.Cache.List(ctx, list, opts...)
	}
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	if lo.FieldSelector != nil && !lo.FieldSelector.Empty() {
		return fmt.Errorf("the host cache lists unstructured objects by namespace and labels only, not by field %s", lo.FieldSelector)
	}
	gvk := ul.GroupVersionKind()
	itemGVK := gvk.GroupVersion().WithKind(trimList(gvk.Kind))
	probe := &unstructured.Unstructured{}
	probe.SetGroupVersionKind(itemGVK)
	indexer, err := c.indexerOf(ctx, probe)
	if err != nil {
		return err
	}
	var items []any
	if lo.Namespace != "" {
		if items, err = indexer.ByIndex(toolscache.NamespaceIndex, lo.Namespace); err != nil {
			return err
		}
	} else {
		items = indexer.List()
	}
	onlyMetadata := metadataOnly(opts)
	ul.Items = make([]unstructured.Unstructured, 0, len(items))
	for _, item := range items {
		if lo.LabelSelector != nil {
			m, err := metaOf(item)
			if err != nil {
				return err
			}
			if !lo.LabelSelector.Matches(labels.Set(m.GetLabels())) {
				continue
			}
		}
		got, err := listed(item, onlyMetadata)
		if err != nil {
			return err
		}
		got.SetGroupVersionKind(itemGVK)
		ul.Items = append(ul.Items, *got)
	}
	return nil
}

// MetadataOnly is a list option: the items listed from compact objects hold only their
// apiVersion, kind and metadata, for a caller that needs no more (such as one that enqueues
// every object), so that no body is decoded. Any other cache ignores it and lists whole objects.
type MetadataOnly struct{}

// ApplyToList changes nothing in the options: the host cache looks for the option itself.
func (MetadataOnly) ApplyToList(*client.ListOptions) {}

func metadataOnly(opts []client.ListOption) bool {
	for _, o := range opts {
		if _, ok := o.(MetadataOnly); ok {
			return true
		}
	}
	return false
}

// GetInformer wraps the informer, so that its handlers get unstructured objects.
func (c *compactCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := c.Cache.GetInformer(ctx, obj, opts...)
	if err != nil {
		return nil, err
	}
	return &informer{Informer: inf}, nil
}

// GetInformerForKind wraps the informer likewise.
func (c *compactCache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := c.Cache.GetInformerForKind(ctx, gvk, opts...)
	if err != nil {
		return nil, err
	}
	return &informer{Informer: inf}, nil
}

// informer is an informer whose handlers get each Compact as its unstructured object.
type informer struct {
	cache.Informer
}

func (i *informer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.Informer.AddEventHandler(handler{h})
}

func (i *informer) AddEventHandlerWithResyncPeriod(h toolscache.ResourceEventHandler, resync time.Duration) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.Informer.AddEventHandlerWithResyncPeriod(handler{h}, resync)
}

func (i *informer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler, options toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.Informer.AddEventHandlerWithOptions(handler{h}, options)
}

// handler hands on each notification with its Compact objects decoded. An object that cannot
// be decoded, which the transform made from an object just decoded, is handed on as it is.
type handler struct {
	next toolscache.ResourceEventHandler
}

func (h handler) OnAdd(obj any, isInInitialList bool) { h.next.OnAdd(decoded(obj), isInInitialList) }
func (h handler) OnUpdate(oldObj, newObj any)         { h.next.OnUpdate(decoded(oldObj), decoded(newObj)) }
func (h handler) OnDelete(obj any)                    { h.next.OnDelete(decoded(obj)) }

func decoded(obj any) any {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		d.Obj = decoded(d.Obj)
		return d
	}
	c, ok := obj.(*Compact)
	if !ok {
		return obj
	}
	u, err := c.Unstructured()
	if err != nil {
		return obj
	}
	return u
}

// listed is the unstructured object of a stored item, or only its metadata.
func listed(item any, onlyMetadata bool) (*unstructured.Unstructured, error) {
	c, ok := item.(*Compact)
	if !ok || !onlyMetadata {
		return toUnstructured(item)
	}
	meta, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&c.ObjectMeta)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the metadata of %s %s: %w", c.Kind, c.Name, err)
	}
	return &unstructured.Unstructured{Object: map[string]any{"metadata": meta}}, nil
}

// toUnstructured is the unstructured object of a stored item.
func toUnstructured(item any) (*unstructured.Unstructured, error) {
	switch o := item.(type) {
	case *Compact:
		return o.Unstructured()
	case *unstructured.Unstructured:
		return o.DeepCopy(), nil
	default:
		return nil, fmt.Errorf("the host cache holds a %T where an unstructured object was expected", item)
	}
}

func metaOf(item any) (metav1.Object, error) {
	m, ok := item.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("the host cache holds a %T, which has no metadata", item)
	}
	return m, nil
}

func trimList(kind string) string { return strings.TrimSuffix(kind, "List") }
