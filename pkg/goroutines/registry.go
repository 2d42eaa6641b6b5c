package goroutines

import (
	"context"
	"sync"
)

// Registry runs at most one goroutine per key, each with a value that describes it. The zero
// Registry is ready to use; it must not be copied after first use.
//
// A goroutine keeps its key, and its value, until it is stopped or replaced, also when it has
// returned on its own: its owner tells from the value what became of it. A goroutine must not
// start, stop or replace its own key: that would wait for itself.
type Registry[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]*entry[V]
	// last holds, per key, the end of the goroutine started last, until it has returned, be it
	// the key's or one being stopped: the next goroutine of the key starts after it.
	last map[K]chan struct{}
}

type entry[V any] struct {
	value  V
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs run in a new goroutine for key, with value, and a context derived from parent
// that ends when the key is stopped or replaced. A goroutine that key already has is stopped
// first, and Start waits until it (and any goroutine of the key still being stopped) has
// returned. The new value is the key's from the moment Start is called, so that the old
// goroutine, while it stops, can tell it is no longer the key's. A goroutine whose context has
// ended before it could start (it was itself replaced or stopped meanwhile) does not run.
func (r *Registry[K, V]) Start(parent context.Context, key K, value V, run func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(parent)
	e := &entry[V]{value: value, cancel: cancel, done: make(chan struct{})}
	r.mu.Lock()
	if r.entries == nil {
		r.entries = map[K]*entry[V]{}
	}
	if r.last == nil {
		r.last = map[K]chan struct{}{}
	}
	old, previous := r.entries[key], r.last[key]
	r.entries[key], r.last[key] = e, e.done
	r.mu.Unlock()
	if old != nil {
		old.cancel()
	}
	if previous != nil {
		<-previous
	}
	go func() {
		defer close(e.done)
		defer r.ended(key, e.done)
		defer cancel()
		if ctx.Err() == nil {
			run(ctx)
		}
	}()
}

// ended forgets the end of a goroutine of key that has returned.
func (r *Registry[K, V]) ended(key K, done chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last[key] == done {
		delete(r.last, key)
	}
}

// Stop cancels the goroutine of key, waits for it to return, and returns its value; ok is
// false when key has none.
func (r *Registry[K, V]) Stop(key K) (value V, ok bool) {
	r.mu.Lock()
	e, ok := r.entries[key]
	delete(r.entries, key)
	r.mu.Unlock()
	if !ok {
		return value, false
	}
	e.cancel()
	<-e.done
	return e.value, true
}

// StopAll cancels every goroutine at once, then waits for all of them to return.
func (r *Registry[K, V]) StopAll() {
	r.mu.Lock()
	entries := r.entries
	r.entries = map[K]*entry[V]{}
	r.mu.Unlock()
	for _, e := range entries {
		e.cancel()
	}
	for _, e := range entries {
		<-e.done
	}
}

// Get returns the value of key's goroutine; ok is false when key has none.
func (r *Registry[K, V]) Get(key K) (value V, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[key]
	if !ok {
		return value, false
	}
	return e.value, true
}

// Values returns the values of every key's goroutine, in no particular order.
func (r *Registry[K, V]) Values() []V {
	r.mu.Lock()
	defer r.mu.Unlock()
	values := make([]V, 0, len(r.entries))
	for _, e := range r.entries {
		values = append(values, e.value)
	}
	return values
}
