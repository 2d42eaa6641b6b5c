package cluster

import (
	"context"
	"fmt"
	"sort"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// ManagedLabel marks the member objects that the control plane manages; member caches hold
// only those.
const ManagedLabel = "kubefed.io/managed"

// Cache holds a client and a cache for each connected member. A member's cache watches only
// objects labelled kubefed.io/managed=true, and only the kinds that are read through it
// (informers start on first use), so its memory stays bounded. Members are connected and
// disconnected independently: there is no gate that waits for every member's cache.
type Cache struct {
	// Scheme knows the kinds read from members.
	Scheme *runtime.Scheme
	// Namespace is the control plane's namespace, where KubeFedClusters live; events name
	// the KubeFedCluster of the member.
	Namespace string

	mu          sync.RWMutex
	members     map[string]*member
	subscribers []chan event.GenericEvent
}

type member struct {
	client client.Client
	cache  cache.Cache
	cancel context.CancelFunc
	done   chan struct{}
}

// Connect creates the member's client and cache and starts the cache in the background,
// replacing any previous connection, then tells the subscribers.
func (c *Cache) Connect(ctx context.Context, name string, cfg *rest.Config) error {
	cfg = rest.CopyConfig(cfg)
	mc, err := cache.New(cfg, cache.Options{
		Scheme:               c.Scheme,
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{ManagedLabel: "true"}),
	})
	if err != nil {
		return fmt.Errorf("failed to create the cache of member %s: %w", name, err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: c.Scheme, Cache: &client.CacheOptions{Reader: mc}})
	if err != nil {
		return fmt.Errorf("failed to create the client of member %s: %w", name, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	m := &member{client: cl, cache: mc, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		if err := mc.Start(runCtx); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "member cache stopped", "cluster", name)
		}
	}()
	c.mu.Lock()
	if c.members == nil {
		c.members = map[string]*member{}
	}
	old := c.members[name]
	c.members[name] = m
	c.mu.Unlock()
	if old != nil {
		old.stop()
	}
	c.notify(name)
	return nil
}

// Disconnect stops the member's cache and forgets its client, then tells the subscribers. It
// does nothing for a member that is not connected.
func (c *Cache) Disconnect(name string) {
	c.mu.Lock()
	m, ok := c.members[name]
	delete(c.members, name)
	c.mu.Unlock()
	if !ok {
		return
	}
	m.stop()
	c.notify(name)
}

func (m *member) stop() {
	m.cancel()
	<-m.done
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
// time a member connects or disconnects; controllers watch it with source.Channel. A
// subscriber that falls more than 1,024 events behind misses events rather than holding up
// the members.
func (c *Cache) Subscribe() <-chan event.GenericEvent {
	ch := make(chan event.GenericEvent, 1024)
	c.mu.Lock()
	c.subscribers = append(c.subscribers, ch)
	c.mu.Unlock()
	return ch
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
