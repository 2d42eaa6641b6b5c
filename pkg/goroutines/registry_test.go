package goroutines

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// waitLong bounds how long a test waits for something that must happen.
const waitLong = 10 * time.Second

// closedWithin tells whether ch is closed within waitLong.
func closedWithin(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(waitLong):
		return false
	}
}

func TestStopCancelsAndWaits(t *testing.T) {
	var r Registry[string, int]
	started, returned := make(chan struct{}), atomic.Bool{}
	r.Start(t.Context(), "a", 1, func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond)
		returned.Store(true)
	})
	if !closedWithin(started) {
		t.Fatal("the goroutine did not start")
	}
	if v, ok := r.Get("a"); !ok || v != 1 {
		t.Errorf("Get(a) = %d, %t; want 1, true", v, ok)
	}
	v, ok := r.Stop("a")
	if !ok || v != 1 {
		t.Errorf("Stop(a) = %d, %t; want 1, true", v, ok)
	}
	if !returned.Load() {
		t.Error("Stop returned before the goroutine did")
	}
	if _, ok := r.Get("a"); ok {
		t.Error("a still has a goroutine after Stop")
	}
	if _, ok := r.Stop("a"); ok {
		t.Error("a second Stop found a goroutine")
	}
}

func TestStartReplacesAfterTheOldReturned(t *testing.T) {
	var r Registry[string, string]
	var oldReturned atomic.Bool
	oldStarted, seenByOld := make(chan struct{}), make(chan string, 1)
	r.Start(t.Context(), "a", "old", func(ctx context.Context) {
		close(oldStarted)
		<-ctx.Done()
		// On its way out, the old goroutine sees that the key is no longer its own.
		v, _ := r.Get("a")
		seenByOld <- v
		time.Sleep(20 * time.Millisecond)
		oldReturned.Store(true)
	})
	if !closedWithin(oldStarted) {
		t.Fatal("the old goroutine did not start")
	}
	newStarted := make(chan bool, 1)
	r.Start(t.Context(), "a", "new", func(ctx context.Context) {
		newStarted <- oldReturned.Load()
		<-ctx.Done()
	})
	if got := <-seenByOld; got != "new" {
		t.Errorf("the old goroutine saw the value %q, want %q", got, "new")
	}
	select {
	case afterOld := <-newStarted:
		if !afterOld {
			t.Error("the new goroutine started before the old one returned")
		}
	case <-time.After(waitLong):
		t.Fatal("the new goroutine did not start")
	}
	if v, _ := r.Get("a"); v != "new" {
		t.Errorf("Get(a) = %q, want %q", v, "new")
	}
	r.StopAll()
}

func TestAGoroutineThatReturnsKeepsItsKey(t *testing.T) {
	var r Registry[string, int]
	done := make(chan struct{})
	r.Start(t.Context(), "a", 7, func(context.Context) { close(done) })
	if !closedWithin(done) {
		t.Fatal("the goroutine did not run")
	}
	if v, ok := r.Get("a"); !ok || v != 7 {
		t.Errorf("Get(a) = %d, %t after the goroutine returned; want 7, true", v, ok)
	}
	if _, ok := r.Stop("a"); !ok {
		t.Error("Stop(a) found no goroutine")
	}
}

func TestTheParentContextEndsTheGoroutine(t *testing.T) {
	var r Registry[string, int]
	parent, cancel := context.WithCancel(t.Context())
	started, done := make(chan struct{}), make(chan struct{})
	r.Start(parent, "a", 1, func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		close(done)
	})
	if !closedWithin(started) {
		t.Fatal("the goroutine did not start")
	}
	cancel()
	if !closedWithin(done) {
		t.Fatal("the goroutine's context did not end with its parent's")
	}
	r.StopAll()
}

func TestStopAllCancelsEveryGoroutineBeforeWaiting(t *testing.T) {
	var r Registry[int, int]
	// Each goroutine returns only once all of them were cancelled: stopping them one at a time
	// would wait forever.
	const n = 5
	var started, cancelled sync.WaitGroup
	started.Add(n)
	cancelled.Add(n)
	for i := range n {
		r.Start(t.Context(), i, i, func(ctx context.Context) {
			started.Done()
			<-ctx.Done()
			cancelled.Done()
			cancelled.Wait()
		})
	}
	started.Wait()
	stopped := make(chan struct{})
	go func() {
		r.StopAll()
		close(stopped)
	}()
	if !closedWithin(stopped) {
		t.Fatal("StopAll did not return")
	}
	if got := r.Values(); len(got) != 0 {
		t.Errorf("Values() = %v after StopAll, want none", got)
	}
}

func TestValues(t *testing.T) {
	var r Registry[string, string]
	for _, k := range []string{"b", "a", "c"} {
		r.Start(t.Context(), k, "value of "+k, func(ctx context.Context) { <-ctx.Done() })
	}
	r.Stop("c")
	got := r.Values()
	sort.Strings(got)
	if diff := cmp.Diff([]string{"value of a", "value of b"}, got); diff != "" {
		t.Errorf("Values() (-want +got):\n%s", diff)
	}
	r.StopAll()
}

func TestConcurrentStartsAndStopsLeaveNothingRunning(t *testing.T) {
	var r Registry[string, int]
	var running, most atomic.Int64
	run := func(ctx context.Context) {
		if n := running.Add(1); n > most.Load() {
			most.Store(n)
		}
		<-ctx.Done()
		running.Add(-1)
	}
	const keys, workers, rounds = 4, 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				key := fmt.Sprint((w + i) % keys)
				switch i % 3 {
				case 0, 1:
					r.Start(t.Context(), key, i, run)
				default:
					r.Stop(key)
				}
			}
		})
	}
	wg.Wait()
	r.StopAll()
	if n := running.Load(); n != 0 {
		t.Errorf("%d goroutines still run after StopAll", n)
	}
	if m := most.Load(); m > keys {
		t.Errorf("up to %d goroutines ran at once, more than the %d keys", m, keys)
	}
}

func TestAGoroutineStoppedBeforeItStartsDoesNotRun(t *testing.T) {
	var r Registry[string, int]
	parent, cancel := context.WithCancel(t.Context())
	cancel()
	ran := make(chan struct{}, 1)
	r.Start(parent, "a", 1, func(context.Context) { ran <- struct{}{} })
	r.Stop("a")
	select {
	case <-ran:
		t.Error("a goroutine whose context had ended ran")
	default:
	}
}

func TestStartWaitsForAGoroutineOfTheKeyBeingStopped(t *testing.T) {
	var r Registry[string, int]
	var oldReturned atomic.Bool
	started, release := make(chan struct{}), make(chan struct{})
	r.Start(t.Context(), "a", 1, func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		<-release
		oldReturned.Store(true)
	})
	if !closedWithin(started) {
		t.Fatal("the goroutine did not start")
	}
	stopped := make(chan struct{})
	go func() {
		r.Stop("a")
		close(stopped)
	}()
	// Stop has removed the key, but its goroutine has not returned yet.
	for {
		if _, ok := r.Get("a"); !ok {
			break
		}
		time.Sleep(time.Millisecond)
	}
	newSawOld := make(chan bool, 1)
	go func() {
		time.Sleep(20 * time.Millisecond)
		close(release)
	}()
	r.Start(t.Context(), "a", 2, func(ctx context.Context) {
		newSawOld <- oldReturned.Load()
		<-ctx.Done()
	})
	if !<-newSawOld {
		t.Error("the new goroutine started while the stopped one still ran")
	}
	if !closedWithin(stopped) {
		t.Fatal("Stop did not return")
	}
	r.StopAll()
}
