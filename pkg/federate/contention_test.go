package federate

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fedplane/fedplane/api/contract"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// step is one thing that happens to a copy, after a delay, and what the tracker says then.
type step struct {
	after time.Duration
	// do is "apply", "applyFresh", "revert" or "match".
	do   string
	want outcome
}

// outcome is what the tracker says after a step.
type outcome struct {
	Wait     time.Duration
	Started  bool
	Ended    bool
	Recheck  time.Duration
	Fighting bool
}

var copyKey = ContentionKey{Object: types.NamespacedName{Namespace: "default", Name: "kube-root-ca.crt"}, Cluster: "cce"}

// fight is the steps that start a fight: three applies, each changed back at once.
func fight() []step {
	return []step{
		{do: "applyFresh"},
		{after: 10 * time.Millisecond, do: "revert"},
		{after: 10 * time.Millisecond, do: "apply"},
		{after: 10 * time.Millisecond, do: "revert"},
		{after: 10 * time.Millisecond, do: "apply"},
		{after: 10 * time.Millisecond, do: "revert", want: outcome{Wait: 5 * time.Second, Started: true, Fighting: true}},
	}
}

func TestContentionTracker(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
	}{
		{
			name: "a copy changed back once or twice is applied again at once",
			steps: []step{
				{do: "applyFresh"},
				{after: time.Second, do: "revert"},
				{do: "apply"},
				{after: time.Second, do: "revert"},
				{do: "apply"},
				{after: time.Second, do: "match"},
			},
		},
		{
			name:  "the third revert within the window starts a fight with a delay of 5 s",
			steps: fight(),
		},
		{
			name: "reverts further apart than the window make no fight",
			steps: []step{
				{do: "applyFresh"},
				{do: "revert"},
				{after: 61 * time.Second, do: "apply"},
				{do: "revert"},
				{after: 61 * time.Second, do: "apply"},
				{do: "revert"},
			},
		},
		{
			name: "a revert seen again before the next apply counts once and waits out the delay",
			steps: append(fight(),
				step{after: time.Second, do: "revert", want: outcome{Wait: 4 * time.Second, Fighting: true}},
				step{after: 4 * time.Second, do: "revert", want: outcome{Fighting: true}},
			),
		},
		{
			name: "each revert after the delay doubles it, up to 5 min",
			steps: append(fight(),
				step{after: 5 * time.Second, do: "apply", want: outcome{Fighting: true}},
				step{do: "revert", want: outcome{Wait: 10 * time.Second, Fighting: true}},
				step{after: 10 * time.Second, do: "apply", want: outcome{Fighting: true}},
				step{do: "revert", want: outcome{Wait: 20 * time.Second, Fighting: true}},
				step{after: 20 * time.Second, do: "apply", want: outcome{Fighting: true}},
				step{do: "revert", want: outcome{Wait: 40 * time.Second, Fighting: true}},
				step{after: 40 * time.Second, do: "apply", want: outcome{Fighting: true}},
				step{do: "revert", want: outcome{Wait: 80 * time.Second, Fighting: true}},
				step{after: 80 * time.Second, do: "apply", want: outcome{Fighting: true}},
				step{do: "revert", want: outcome{Wait: 160 * time.Second, Fighting: true}},
				step{after: 160 * time.Second, do: "apply", want: outcome{Fighting: true}},
				step{do: "revert", want: outcome{Wait: 5 * time.Minute, Fighting: true}},
				step{after: 5 * time.Minute, do: "apply", want: outcome{Fighting: true}},
				step{do: "revert", want: outcome{Wait: 5 * time.Minute, Fighting: true}},
			),
		},
		{
			name: "a copy that stays as applied for 30 s ends the fight, and is looked at again until then",
			steps: append(fight(),
				step{after: 5 * time.Second, do: "apply", want: outcome{Fighting: true}},
				step{after: time.Second, do: "match", want: outcome{Recheck: 29 * time.Second, Fighting: true}},
				step{after: 29 * time.Second, do: "match", want: outcome{Ended: true}},
				step{do: "match"},
				// A later revert counts from one again.
				step{do: "revert"},
			),
		},
		{
			name: "applying a changed template starts afresh",
			steps: append(fight(),
				step{after: time.Second, do: "applyFresh"},
				step{do: "revert"},
			),
		},
		{
			name: "a revert of a copy applied before the tracker knew of it counts",
			steps: []step{
				{do: "revert"},
				{do: "apply"},
				{do: "revert"},
				{do: "apply"},
				{do: "revert", want: outcome{Wait: 5 * time.Second, Started: true, Fighting: true}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1700000000, 0)}
			tr := &ContentionTracker{Now: clock.Now}
			for i, s := range tc.steps {
				clock.now = clock.now.Add(s.after)
				var got outcome
				switch s.do {
				case "apply":
					tr.Applied(copyKey, false)
				case "applyFresh":
					tr.Applied(copyKey, true)
				case "revert":
					got.Wait, got.Started = tr.Reverted(copyKey)
				case "match":
					got.Ended, got.Recheck = tr.Matched(copyKey)
				default:
					t.Fatalf("unknown step %q", s.do)
				}
				got.Fighting = tr.Fighting(copyKey)
				if diff := cmp.Diff(s.want, got); diff != "" {
					t.Fatalf("step %d (%s) (-want +got):\n%s", i, s.do, diff)
				}
			}
		})
	}
}

func TestContentionTrackerIsBounded(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1700000000, 0)}
	tr := &ContentionTracker{Now: clock.Now, MaxEntries: 2}
	keys := []ContentionKey{{Cluster: "a"}, {Cluster: "b"}, {Cluster: "c"}}
	for _, k := range keys {
		clock.now = clock.now.Add(time.Second)
		tr.Applied(k, true)
		tr.Reverted(k)
	}
	if got := tr.Len(); got != 2 {
		t.Fatalf("Len() = %d, want 2", got)
	}
	// One went to make room; applying and reverting the others again keeps the bound.
	for _, k := range keys[1:] {
		tr.Applied(k, false)
		tr.Reverted(k)
	}
	if got := tr.Len(); got != 2 {
		t.Fatalf("Len() after more reverts = %d, want 2", got)
	}
}

func TestContentionTrackerRemembersOnlyRevertedCopies(t *testing.T) {
	tr := &ContentionTracker{}
	for i := range 1000 {
		tr.Applied(ContentionKey{Object: types.NamespacedName{Namespace: "bulk", Name: fmt.Sprint(i)}, Cluster: "cce"}, true)
	}
	if got := tr.Len(); got != 0 {
		t.Fatalf("Len() after 1000 applies = %d, want 0", got)
	}
	tr.Reverted(copyKey)
	tr.Applied(copyKey, false)
	if got := tr.Len(); got != 1 {
		t.Fatalf("Len() after a revert and an apply = %d, want 1", got)
	}
	// A changed template is a fresh start: there is nothing left to remember.
	tr.Applied(copyKey, true)
	if got := tr.Len(); got != 0 {
		t.Fatalf("Len() after a fresh apply = %d, want 0", got)
	}
}

func TestContentionTrackerForget(t *testing.T) {
	tr := &ContentionTracker{}
	other := ContentionKey{Object: types.NamespacedName{Namespace: "default", Name: "other"}, Cluster: "cce"}
	tr.Reverted(copyKey)
	tr.Reverted(ContentionKey{Object: copyKey.Object, Cluster: "local"})
	tr.Reverted(other)
	tr.Forget(copyKey.Object)
	if got := tr.Len(); got != 1 {
		t.Fatalf("Len() = %d, want 1 (the other object's copy)", got)
	}
}

func TestNilContentionTrackerNeverBacksOff(t *testing.T) {
	var tr *ContentionTracker
	for range 10 {
		tr.Applied(copyKey, false)
		if wait, started := tr.Reverted(copyKey); wait != 0 || started {
			t.Fatalf("Reverted() = %v, %v, want 0, false", wait, started)
		}
	}
	if tr.Fighting(copyKey) {
		t.Fatal("Fighting() = true, want false")
	}
}

func TestRevertedCopy(t *testing.T) {
	desired := finishedCopy(t, desiredConfigMap().build())
	stored := func(data map[string]any) *object {
		o := &object{u: desired.DeepCopy()}
		return o.serverFields().set(data, "data")
	}
	cases := []struct {
		name     string
		existing *unstructured.Unstructured
		want     bool
	}{
		{name: "the copy as applied", existing: stored(map[string]any{"mode": "fast"}).build(), want: false},
		{name: "the copy with a field of its own added", existing: stored(map[string]any{"mode": "fast", "extra": "x"}).build(), want: false},
		{name: "the copy as applied, changed back", existing: stored(map[string]any{"mode": "slow"}).build(), want: true},
		{name: "a copy applied from another template", existing: stored(map[string]any{"mode": "slow"}).annotate(contract.AppliedAnnotation, "older").build(), want: false},
		{name: "a copy without the hash", existing: stored(map[string]any{"mode": "slow"}).annotate(contract.AppliedAnnotation, "").build(), want: false},
		{name: "a copy no longer labelled managed", existing: stored(map[string]any{"mode": "slow"}).label(contract.ManagedLabel, "false").build(), want: false},
		{name: "no copy", existing: nil, want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := RevertedCopy(desired, tc.existing); got != tc.want {
				t.Errorf("RevertedCopy() = %v, want %v", got, tc.want)
			}
		})
	}
}
