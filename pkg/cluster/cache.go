package cluster

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/goroutines"
)

// Cache holds a client and a cache for each connected member. A member's cache watches only
// objects labelled kubefed.io/managed=true, and only the kinds that are read through it
// (informers start on first use), so its memory stays bounded. Members are connected and
// disconnected independently: there is no gate that waits for every member's cache.
//
// The informers of a kind are removed from every member's cache when the last holder of the
// kind releases it (see Hold), so that a kind nothing reads any more is not watched, nor
// retried when a member stops serving it.
type Cache struct {
	// Scheme knows the kinds read from members.
	Scheme *runtime.Scheme
	// Namespace is the control plane's namespace, where KubeFedClusters live; events name
	// the KubeFedCluster of the member.
	Namespace string
	// Metrics counts the kinds watched in each member; nil counts nothing.
	Metrics *Metrics

	// informing is held for reading while an informer is looked up (and maybe started), and
	// for writing while the informers of a released kind are removed: a reader whose context
	// ended before the removal cannot start the informer again after it.
	informing sync.RWMutex
	mu        sync.RWMutex
	members   map[string]*member
	// running are the members' caches, by name, each in its goroutine.
	running     goroutines.Registry[string, *member]
	subscribers []chan event.GenericEvent
	// holds counts, by kind, the holders that read the kind in members.
	holds map[schema.GroupVersionKind]int

	kindsOnce sync.Once
	kinds     *kindMapper
}

type member struct {
	client client.Client
	live   client.Client
	cache  cache.Cache
	// suspendedUntil is set when a request to the member timed out: writes skip the member
	// until then, so that one hung member does not hold up every worker.
	suspendedUntil time.Time
	backoff        time.Duration
	// inFlight are the outstanding requests, by the caller's key, with when they started.
	inFlight map[string]time.Time
	// connected is when the member was connected.
	connected time.Time
	// watched are the kinds whose informer was started in the member's cache.
	watched map[schema.GroupVersionKind]bool
	// access holds the lists and watches of the member's cache that the member denies.
	access *accessLog
}

// Connect creates the member's client and cache and starts the cache in the background,
// replacing any previous connection, then tells the subscribers. Kinds are mapped with the
// mappings registered by AddKind: nothing asks the member's discovery.
func (c *Cache) Connect(ctx context.Context, name string, cfg *rest.Config) error {
	cfg = rest.CopyConfig(cfg)
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("failed to create the client of member %s: %w", name, err)
	}
	mapper := c.mapper()
	access := &accessLog{}
	// The cache's lists and watches go through the member's connections, observed.
	cacheHC := *hc
	cacheHC.Transport = &observing{next: hc.Transport, log: access}
	mc, err := cache.New(cfg, cache.Options{
		HTTPClient:           &cacheHC,
		Scheme:               c.Scheme,
		Mapper:               mapper,
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{contract.ManagedLabel: "true"}),
		// Only what decisions need is kept, so that memory does not grow with object size.
		DefaultTransform: slimTransform(),
	})
	if err != nil {
		return fmt.Errorf("failed to create the cache of member %s: %w", name, err)
	}
	cl, err := client.New(cfg, client.Options{HTTPClient: hc, Scheme: c.Scheme, Mapper: mapper, Cache: &client.CacheOptions{Reader: mc, Unstructured: true}})
	if err != nil {
		return fmt.Errorf("failed to create the client of member %s: %w", name, err)
	}
	live, err := client.New(cfg, client.Options{HTTPClient: hc, Scheme: c.Scheme, Mapper: mapper})
	if err != nil {
		return fmt.Errorf("failed to create the client of member %s: %w", name, err)
	}
	m := &member{client: cl, live: live, cache: mc, inFlight: map[string]time.Time{}, connected: time.Now(), watched: map[schema.GroupVersionKind]bool{}, access: access}
	c.mu.Lock()
	if c.members == nil {
		c.members = map[string]*member{}
	}
	old := c.members[name]
	c.members[name] = m
	if old != nil {
		c.Metrics.unwatch(name, old.watched)
	}
	c.mu.Unlock()
	// The previous connection's cache stops, and is waited for, before the new one starts.
	c.running.Start(ctx, name, m, func(runCtx context.Context) {
		if err := mc.Start(runCtx); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "member cache stopped", "cluster", name)
		}
	})
	c.notify(name)
	return nil
}

// AddKind registers how a member kind maps to its resource: its plural resource name and
// whether it is namespaced. Controllers register the kinds they read and write in members
// before they use them (a FederatedTypeConfig names its target's); Deployments, ReplicaSets,
// Pods and Namespaces are always known.
func (c *Cache) AddKind(gvk schema.GroupVersionKind, resource string, namespaced bool) {
	c.mapper().add(gvk, resource, namespaced)
}

func (c *Cache) mapper() *kindMapper {
	c.kindsOnce.Do(func() { c.kinds = newKindMapper() })
	return c.kinds
}

// GetSynced reads obj from the member's cache when the cache holds the objects of its kind,
// and tells whether it did. An unstructured obj of a kind cached as metadata only (see
// MetadataOnly) is filled with the slim copy that its metadata stands for. The first call for a kind starts its informer in the background;
// it never waits for the member, and reads nothing once ctx has ended. A read and the removal of the kind's informers never cross.
// While the member denies the cache's list or watch of the kind, it fails with a *DeniedError.
func (c *Cache) GetSynced(ctx context.Context, name string, key client.ObjectKey, obj client.Object) (bool, error) {
	c.informing.RLock()
	defer c.informing.RUnlock()
	m, inf, err := c.informer(ctx, name, obj)
	if err != nil {
		return false, nil
	}
	if resource, ok := c.resourceOf(obj.GetObjectKind().GroupVersionKind()); ok {
		if d, denied := m.access.denial(resource); denied {
			return false, &DeniedError{Denial: d}
		}
	}
	if !inf.HasSynced() {
		return false, nil
	}
	u, ok := obj.(*unstructured.Unstructured)
	gvk := obj.GetObjectKind().GroupVersionKind()
	if !ok || !MetadataOnly(gvk) {
		return true, m.cache.Get(ctx, key, obj)
	}
	p := &metav1.PartialObjectMetadata{}
	p.SetGroupVersionKind(gvk)
	if err := m.cache.Get(ctx, key, p); err != nil {
		return true, err
	}
	slim, err := fromMetadata(p, gvk)
	if err != nil {
		return true, err
	}
	u.Object = slim.Object
	return true, nil
}

// resourceOf is the resource of a kind registered with AddKind.
func (c *Cache) resourceOf(gvk schema.GroupVersionKind) (schema.GroupResource, bool) {
	mapping, err := c.mapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return schema.GroupResource{}, false
	}
	return mapping.Resource.GroupResource(), true
}

// Informer returns the informer of obj's kind in the member's cache, started in the background
// if it was not, and the cache it belongs to. It fails once ctx has ended, so that a reader of
// a kind whose holders have all stopped does not start its informer again.
func (c *Cache) Informer(ctx context.Context, name string, obj client.Object) (cache.Informers, cache.Informer, error) {
	c.informing.RLock()
	defer c.informing.RUnlock()
	m, inf, err := c.informer(ctx, name, obj)
	if err != nil {
		return nil, nil, err
	}
	return m.cache, inf, nil
}

// informer is Informer, with c.informing held for reading.
func (c *Cache) informer(ctx context.Context, name string, obj client.Object) (*member, cache.Informer, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c.mu.RLock()
	m, ok := c.members[name]
	c.mu.RUnlock()
	if !ok {
		return nil, nil, fmt.Errorf("member %s is not connected", name)
	}
	if _, ok := obj.(*unstructured.Unstructured); ok {
		obj = cacheObject(obj.GetObjectKind().GroupVersionKind())
	}
	inf, err := m.cache.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, nil, err
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	// Every cached read passes here: the write lock is taken only for a kind new to the member.
	c.mu.RLock()
	known := m.watched[gvk]
	c.mu.RUnlock()
	if !known {
		c.mu.Lock()
		if !m.watched[gvk] {
			m.watched[gvk] = true
			if c.members[name] == m {
				c.Metrics.watch(name, gvk)
			}
		}
		c.mu.Unlock()
	}
	return m, inf, nil
}

// Hold tells the cache that the caller reads (unstructured) objects of kind gvk in members,
// until it calls release. When the last holder of a kind releases it, the kind's informers
// are removed from every member's cache: nothing watches it any more, and a member that no
// longer serves it is not retried. A holder that comes later starts fresh informers.
// Callers release only after they stopped reading the kind, or with their reads' context
// ended.
func (c *Cache) Hold(gvk schema.GroupVersionKind) (release func()) {
	c.mu.Lock()
	if c.holds == nil {
		c.holds = map[schema.GroupVersionKind]int{}
	}
	c.holds[gvk]++
	c.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { c.release(gvk) }) }
}

// release drops one hold of gvk, and removes the kind's informers with the last.
func (c *Cache) release(gvk schema.GroupVersionKind) {
	c.informing.Lock()
	defer c.informing.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holds[gvk]--
	if c.holds[gvk] > 0 {
		return
	}
	delete(c.holds, gvk)
	resource, mapped := c.resourceOf(gvk)
	for name, m := range c.members {
		if mapped {
			// A later informer of the kind lists afresh, and finds again what is denied.
			m.access.forget(resource)
		}
		// Removing an informer only stops it, if there is one: it never fails for an
		// unstructured or metadata-only kind. A read through the member's client may have
		// started the unstructured one of a metadata-only kind.
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		_ = m.cache.RemoveInformer(context.Background(), obj)
		if MetadataOnly(gvk) {
			_ = m.cache.RemoveInformer(context.Background(), cacheObject(gvk))
		}
		delete(m.watched, gvk)
		c.Metrics.unwatch(name, map[schema.GroupVersionKind]bool{gvk: true})
	}
}

// ConnectedFor tells how long the member has been connected; zero when it is not.
func (c *Cache) ConnectedFor(name string) time.Duration {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.members[name]
	if !ok {
		return 0
	}
	return time.Since(m.connected)
}

// MaxInFlight is how many requests about distinct objects may be outstanding to one member.
// Past it, callers skip the member and come back later, so that a member that stops answering
// holds at most this many requests, whatever the number of objects.
const MaxInFlight = 128

// Begin reserves the member for one request about key (an object, in the caller's terms). It
// fails when a request about key is already outstanding, or when MaxInFlight requests are.
// end releases the reservation.
func (c *Cache) Begin(name, key string) (end func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, found := c.members[name]
	if !found || len(m.inFlight) >= MaxInFlight {
		return nil, false
	}
	if _, busy := m.inFlight[key]; busy {
		return nil, false
	}
	m.inFlight[key] = time.Now()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(m.inFlight, key)
	}, true
}

// Slow tells whether a request to the member has been outstanding for longer than d: callers
// then do not wait for their own requests to it.
func (c *Cache) Slow(name string, d time.Duration) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.members[name]
	if !ok {
		return false
	}
	for _, started := range m.inFlight {
		if time.Since(started) > d {
			return true
		}
	}
	return false
}

// Disconnect stops the member's cache and forgets its client, then tells the subscribers. It
// does nothing for a member that is not connected.
func (c *Cache) Disconnect(name string) {
	c.mu.Lock()
	m, ok := c.members[name]
	delete(c.members, name)
	if ok {
		c.Metrics.unwatch(name, m.watched)
	}
	c.mu.Unlock()
	if !ok {
		return
	}
	c.running.Stop(name)
	c.notify(name)
}

// Client returns the client of a connected member: reads come from its cache, writes go to its
// API server.
func (c *Cache) Client(name string) (client.Client, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.members[name]
	if !ok {
		return nil, false
	}
	return m.client, true
}

// LiveClient returns a client of a connected member whose reads go to its API server. It is
// for objects the cache does not hold: those without the managed label.
func (c *Cache) LiveClient(name string) (client.Client, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.members[name]
	if !ok {
		return nil, false
	}
	return m.live, true
}

// Informers returns the cache of a connected member, to watch its managed objects. The
// cache stops when the member is disconnected or connected again.
func (c *Cache) Informers(name string) (cache.Informers, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.members[name]
	if !ok {
		return nil, false
	}
	return m.cache, true
}

// The suspension after a member request times out starts at minSuspension and doubles with
// each further timeout, up to maxSuspension.
const (
	minSuspension = 5 * time.Second
	maxSuspension = time.Minute
)

// ReportTimeout tells the cache that a request to the member timed out. The member is then
// suspended: Suspended reports it for a while (5 s, doubling with each further timeout after
// a suspension, up to a minute), so that callers skip it instead of waiting on it again.
// Timeouts during a suspension, of requests sent before it, do not lengthen it.
func (c *Cache) ReportTimeout(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.members[name]
	if !ok || time.Now().Before(m.suspendedUntil) {
		return
	}
	switch {
	case m.backoff == 0:
		m.backoff = minSuspension
	case m.backoff < maxSuspension:
		m.backoff = min(2*m.backoff, maxSuspension)
	}
	m.suspendedUntil = time.Now().Add(m.backoff)
}

// ReportSuccess tells the cache that the member answered a request, which ends its
// suspension; the subscribers are told, as on a connection, so that they come back to it.
func (c *Cache) ReportSuccess(name string) {
	c.mu.RLock()
	m, ok := c.members[name]
	suspended := ok && (m.backoff != 0 || !m.suspendedUntil.IsZero())
	c.mu.RUnlock()
	if !suspended {
		return
	}
	c.mu.Lock()
	if m, ok := c.members[name]; ok {
		m.backoff, m.suspendedUntil = 0, time.Time{}
	}
	c.mu.Unlock()
	c.notify(name)
}

// Suspended tells how long the member stays suspended after a timeout; zero when it is not.
func (c *Cache) Suspended(name string) time.Duration {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.members[name]
	if !ok || m.suspendedUntil.IsZero() {
		return 0
	}
	return max(time.Until(m.suspendedUntil), 0)
}

// Connected returns the names of the connected members, sorted.
func (c *Cache) Connected() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	names := make([]string, 0, len(c.members))
	for n := range c.members {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Subscribe returns a channel that gets an event, naming the member's KubeFedCluster, each
// time a member connects, disconnects, or answers again after a suspension; controllers watch
// it with source.Channel. A subscriber that falls more than 1,024 events behind misses events
// rather than holding up the members.
func (c *Cache) Subscribe() <-chan event.GenericEvent {
	ch := make(chan event.GenericEvent, 1024)
	c.mu.Lock()
	c.subscribers = append(c.subscribers, ch)
	c.mu.Unlock()
	return ch
}

// Unsubscribe stops the events of a channel that Subscribe returned and closes it.
func (c *Cache) Unsubscribe(ch <-chan event.GenericEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.subscribers {
		if s == ch {
			c.subscribers = append(c.subscribers[:i], c.subscribers[i+1:]...)
			close(s)
			return
		}
	}
}

func (c *Cache) notify(name string) {
	ev := event.GenericEvent{Object: &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.Namespace}}}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, ch := range c.subscribers {
		select {
		case ch <- ev:
		default:
		}
	}
}
