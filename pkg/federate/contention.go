package federate

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// Defaults of a ContentionTracker.
const (
	// DefaultContentionThreshold is how many reverts within the window make a fight.
	DefaultContentionThreshold = 3
	// DefaultContentionWindow is how far back reverts are counted.
	DefaultContentionWindow = time.Minute
	// DefaultContentionSettle is how long a copy must stay as applied for a fight to be over.
	DefaultContentionSettle = 30 * time.Second
	// DefaultContentionBaseDelay is the first delay before a fought-over copy is applied again.
	DefaultContentionBaseDelay = 5 * time.Second
	// DefaultContentionMaxDelay bounds the doubling delay.
	DefaultContentionMaxDelay = 5 * time.Minute
	// DefaultContentionMaxEntries bounds how many (object, cluster) pairs are remembered.
	DefaultContentionMaxEntries = 10000
)

// ContentionKey names one federated object's copy in one cluster.
type ContentionKey struct {
	// Object is the federated object.
	Object types.NamespacedName
	// Cluster is the member cluster.
	Cluster string
}

// ContentionTracker notices member copies that another writer keeps changing back: the copy
// carries the hash of what this control plane applied, yet no longer matches it, again and
// again soon after each apply. Past Threshold such reverts within Window, the copy is in a
// fight: it is applied again only after a delay that starts at BaseDelay and doubles up to
// MaxDelay. A copy that stays as applied for Settle after the last apply ends the fight. The
// tracker lives in memory, one per sync reconciler. It remembers only copies that were seen
// reverted (a copy applied and never changed back costs nothing), and at most MaxEntries of
// them (copies not in a fight go first). A nil tracker never backs off.
type ContentionTracker struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Threshold, Window, Settle, BaseDelay, MaxDelay and MaxEntries default to the
	// DefaultContention values when zero.
	Threshold  int
	Window     time.Duration
	Settle     time.Duration
	BaseDelay  time.Duration
	MaxDelay   time.Duration
	MaxEntries int

	mu      sync.Mutex
	entries map[ContentionKey]*contention
}

// contention is what the tracker knows of one copy.
type contention struct {
	// reverts are when reverts were seen, within the window.
	reverts []time.Time
	// armed tells that an apply was sent and not seen reverted yet: the next revert counts.
	armed bool
	// lastApply is when the copy was last applied.
	lastApply time.Time
	// fighting tells that the copy is in a fight.
	fighting bool
	// delay is the current delay, and until when the next apply waits.
	delay time.Duration
	until time.Time
}

// Reverted records that the copy was found changed back from what was applied last. It tells
// how long to wait before applying it again (zero: apply now) and whether this revert started
// a fight. A revert seen again before the next apply is counted once.
func (t *ContentionTracker) Reverted(k ContentionKey) (wait time.Duration, started bool) {
	if t == nil {
		return 0, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	e := t.entries[k]
	if e == nil {
		// The first revert since the copy was applied, by this process or before it started:
		// it counts.
		e = t.add(k)
		e.armed, e.lastApply = true, now
	}
	if e.armed {
		e.armed = false
		e.reverts = append(within(e.reverts, now.Add(-t.window())), now)
		if e.fighting || len(e.reverts) >= t.threshold() {
			if !e.fighting {
				e.fighting, started = true, true
				e.delay = t.baseDelay()
			} else {
				e.delay = min(2*e.delay, t.maxDelay())
			}
			e.until = now.Add(e.delay)
		}
	}
	if now.Before(e.until) {
		return e.until.Sub(now), started
	}
	return 0, started
}

// Applied records that the copy was applied. fresh tells that what was applied differs from
// what the copy carried (the template or the overrides changed, or there was no copy): the
// copy is then given a fresh start. A copy never seen reverted is not remembered: its first
// revert counts all the same (see Reverted), so that a bulk apply of thousands of copies
// holds no memory here.
func (t *ContentionTracker) Applied(k ContentionKey, fresh bool) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[k]
	if e == nil || fresh {
		delete(t.entries, k)
		return
	}
	e.armed, e.lastApply = true, t.now()
}

// Matched records that the copy is as applied. It tells whether that ended a fight (the copy
// stayed as applied for Settle), and, while a fight is not over, how soon to look again so
// that its end is noticed without a member event.
func (t *ContentionTracker) Matched(k ContentionKey) (ended bool, recheck time.Duration) {
	if t == nil {
		return false, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[k]
	if e == nil {
		return false, 0
	}
	now := t.now()
	if quiet := now.Sub(e.lastApply); quiet >= t.settle() {
		delete(t.entries, k)
		return e.fighting, 0
	} else if e.fighting {
		return false, t.settle() - quiet
	}
	return false, 0
}

// Fighting tells whether the copy is in a fight.
func (t *ContentionTracker) Fighting(k ContentionKey) bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[k]
	return e != nil && e.fighting
}

// Forget drops what is known of the object's copies, when the object is gone.
func (t *ContentionTracker) Forget(obj types.NamespacedName) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.entries {
		if k.Object == obj {
			delete(t.entries, k)
		}
	}
}

// Len is how many copies the tracker remembers.
func (t *ContentionTracker) Len() int {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// add starts a new entry for k, making room for it first.
func (t *ContentionTracker) add(k ContentionKey) *contention {
	if t.entries == nil {
		t.entries = map[ContentionKey]*contention{}
	}
	if _, ok := t.entries[k]; !ok && len(t.entries) >= t.maxEntries() {
		// Any copy not in a fight goes first, without a scan of every entry: each write
		// of a copy passes here, and a full tracker would make every write pay for it.
		var victim ContentionKey
		for key, e := range t.entries {
			victim = key
			if !e.fighting {
				break
			}
		}
		delete(t.entries, victim)
	}
	e := &contention{}
	t.entries[k] = e
	return e
}

// within keeps the times at or after since.
func within(times []time.Time, since time.Time) []time.Time {
	out := times[:0]
	for _, at := range times {
		if !at.Before(since) {
			out = append(out, at)
		}
	}
	return out
}

func (t *ContentionTracker) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *ContentionTracker) threshold() int {
	return orDefault(t.Threshold, DefaultContentionThreshold)
}

func (t *ContentionTracker) window() time.Duration {
	return orDefault(t.Window, DefaultContentionWindow)
}

func (t *ContentionTracker) settle() time.Duration {
	return orDefault(t.Settle, DefaultContentionSettle)
}

func (t *ContentionTracker) baseDelay() time.Duration {
	return orDefault(t.BaseDelay, DefaultContentionBaseDelay)
}

func (t *ContentionTracker) maxDelay() time.Duration {
	return orDefault(t.MaxDelay, DefaultContentionMaxDelay)
}

func (t *ContentionTracker) maxEntries() int {
	return orDefault(t.MaxEntries, DefaultContentionMaxEntries)
}

// RevertedCopy tells whether a managed member copy carries the hash of exactly the object
// that would be applied now and yet does not match it: something other than this control
// plane changed a field that the control plane set, after it applied the same object.
func RevertedCopy(desired, existing *unstructured.Unstructured) bool {
	if desired == nil || existing == nil || existing.GetLabels()[contract.ManagedLabel] != "true" {
		return false
	}
	sum := desired.GetAnnotations()[contract.AppliedAnnotation]
	return sum != "" && existing.GetAnnotations()[contract.AppliedAnnotation] == sum && !Matches(desired, existing)
}

// freshApply tells whether applying desired changes what the copy was last applied with.
func freshApply(desired, existing *unstructured.Unstructured) bool {
	return existing == nil || desired == nil || existing.GetAnnotations()[contract.AppliedAnnotation] != desired.GetAnnotations()[contract.AppliedAnnotation]
}

// contend looks at a copy that another writer may be fighting over, after Decide. A copy that
// was changed back is applied again only when the tracker says so; hold tells that it must
// not be applied now (the result then says when to come back). While a fight lasts the
// cluster's status says RevertedByAnotherWriter. An event says when a fight starts and ends.
func (r *SyncReconciler) contend(s *scope, name string, in ClusterInput, res *clusterResult) (hold bool) {
	key := ContentionKey{Object: client.ObjectKeyFromObject(s.fed), Cluster: name}
	switch {
	case res.decision.Action == ActionUpdate && RevertedCopy(in.Desired, in.Existing):
		wait, started := r.Contention.Reverted(key)
		if started {
			r.Recorder.Eventf(s.fed, nil, corev1.EventTypeWarning, string(typesv1beta1.RevertedByAnotherWriter), "Update",
				"Another writer keeps changing %s %s in cluster %s back after it is applied; fedplane backs off",
				r.Type.Target.Kind, klog.KObj(s.fed), name)
		}
		if wait > 0 {
			hold = true
			res.decision.Action = ActionNone
			res.retry = wait
		}
	case res.decision.Action == ActionNone && res.decision.Status == typesv1beta1.ClusterPropagationOK && in.Existing != nil:
		ended, recheck := r.Contention.Matched(key)
		if ended {
			r.Recorder.Eventf(s.fed, nil, corev1.EventTypeNormal, "NoLongerReverted", "Update",
				"%s %s in cluster %s stayed as applied; fedplane applies it at once again", r.Type.Target.Kind, klog.KObj(s.fed), name)
		}
		if recheck > 0 && (res.retry == 0 || recheck < res.retry) {
			res.retry = recheck
		}
	}
	if r.Contention.Fighting(key) && res.status == typesv1beta1.ClusterPropagationOK {
		res.status = typesv1beta1.RevertedByAnotherWriter
		// The copy is still this control plane's, as applied or as changed back.
		res.version = ClusterVersion(in.Existing)
		res.remoteStatus = r.remoteStatus(s, in.Existing)
	}
	return hold
}

// orDefault is v when it is set (positive), else d.
func orDefault[T int | time.Duration](v, d T) T {
	if v > 0 {
		return v
	}
	return d
}
