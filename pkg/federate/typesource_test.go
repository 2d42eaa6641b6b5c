package federate

import (
	"context"
	"errors"
	"testing"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// watchRecorder is a controller that only records its watches.
type watchRecorder struct {
	controller.Controller
	sources []source.Source
}

func (c *watchRecorder) Watch(s source.Source) error {
	c.sources = append(c.sources, s)
	return nil
}

// fakeSource is a source that syncs with the given result; plain sources do not sync.
type fakeSource struct{ err error }

func (fakeSource) Start(context.Context, workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	return nil
}

type fakeSyncingSource struct {
	fakeSource
}

func (s fakeSyncingSource) WaitForSync(context.Context) error { return s.err }

func TestSyncTracker(t *testing.T) {
	failed := errors.New("the cache did not sync")
	for _, tc := range []struct {
		name       string
		sources    []source.Source
		cancelled  bool
		wantSynced int
		wantFailed bool
	}{
		{
			name:       "every source synced: synced once",
			sources:    []source.Source{fakeSyncingSource{}, fakeSyncingSource{}, fakeSource{}},
			wantSynced: 1,
		},
		{
			name:       "a source that does not sync counts as synced",
			sources:    []source.Source{fakeSource{}},
			wantSynced: 1,
		},
		{
			name:       "one source failed to sync: never synced, and the failure is a sync failure",
			sources:    []source.Source{fakeSyncingSource{}, fakeSyncingSource{fakeSource{err: failed}}, fakeSyncingSource{}},
			wantFailed: true,
		},
		{
			name:      "the controller stopped before the sources synced: neither",
			sources:   []source.Source{fakeSyncingSource{}, fakeSource{}},
			cancelled: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &watchRecorder{}
			synced := 0
			tracker := newSyncTracker(c, func(context.Context) { synced++ })
			for _, s := range tc.sources {
				if err := tracker.Watch(s); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(t.Context())
			if tc.cancelled {
				cancel()
			}
			defer cancel()
			for _, s := range c.sources {
				syncing, ok := s.(source.SyncingSource)
				if !ok {
					t.Fatalf("a tracked source is not a syncing source: %T", s)
				}
				_ = syncing.WaitForSync(ctx)
			}
			if synced != tc.wantSynced {
				t.Errorf("onSynced called %d times, want %d", synced, tc.wantSynced)
			}
			if got := tracker.syncFailed(); got != tc.wantFailed {
				t.Errorf("syncFailed() = %v, want %v", got, tc.wantFailed)
			}
		})
	}
}
