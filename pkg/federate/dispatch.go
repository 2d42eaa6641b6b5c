package federate

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// dispatch decides and acts in every registered cluster in parallel, each cluster with its
// own timeout. It waits for a cluster's answer at most MemberWait, and not at all beyond a
// moment for a member that already has a request outstanding for longer than that: a slow or
// hung member never holds the worker. A cluster that has not answered in time goes on in the
// background; its answer is kept and brings the object back, and complete is false until then,
// so that the status is only ever written whole.
func (r *SyncReconciler) dispatch(ctx context.Context, s *scope) (results []clusterResult, complete bool) {
	key := client.ObjectKeyFromObject(s.fed)
	late := r.takeLate(key, s.fed.GetResourceVersion())
	results = make([]clusterResult, len(s.placed.Decisions))
	answers := make([]chan clusterResult, len(s.placed.Decisions))
	for i, d := range s.placed.Decisions {
		if res, ok := late[d.Name]; ok {
			results[i] = res
			continue
		}
		answer := make(chan clusterResult, 1)
		answers[i] = answer
		go func() { answer <- r.syncCluster(ctx, s, d) }()
	}
	wait := r.memberWait()
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	complete = true
	for i, answer := range answers {
		if answer == nil {
			continue
		}
		name := s.placed.Decisions[i].Name
		limit := waitCtx.Done()
		if r.Members.Slow(name, wait) {
			slowCtx, cancelSlow := context.WithTimeout(ctx, slowMemberWait)
			defer cancelSlow()
			limit = slowCtx.Done()
		}
		select {
		case res := <-answer:
			results[i] = res
		case <-limit:
			complete = false
			results[i] = clusterResult{name: name, inFlight: true}
			rv := s.fed.GetResourceVersion()
			go func() {
				r.storeLate(key, rv, <-answer)
				if r.Requeue != nil {
					r.Requeue(key)
				}
			}()
		}
		if results[i].busy || results[i].inFlight {
			complete = false
		}
	}
	return results, complete
}

// slowMemberWait is how long dispatch waits for a member that is slow to answer: long enough
// for an answer from its cache, too short for a request to it.
const slowMemberWait = 50 * time.Millisecond

// DefaultMemberWait is how long a sync worker waits for a member's answer before it leaves the
// request in the background.
const DefaultMemberWait = 250 * time.Millisecond

func (r *SyncReconciler) memberWait() time.Duration {
	if r.MemberWait > 0 {
		return r.MemberWait
	}
	return DefaultMemberWait
}

// lateResult is a cluster's answer that came after its reconcile stopped waiting.
type lateResult struct {
	// version is the federated object's resourceVersion that the answer was for.
	version string
	res     clusterResult
}

// storeLate keeps a cluster's late answer for the next reconcile of the object.
func (r *SyncReconciler) storeLate(key types.NamespacedName, version string, res clusterResult) {
	r.lateMu.Lock()
	defer r.lateMu.Unlock()
	if r.late == nil {
		r.late = map[types.NamespacedName]map[string]lateResult{}
	}
	if r.late[key] == nil {
		r.late[key] = map[string]lateResult{}
	}
	r.late[key][res.name] = lateResult{version: version, res: res}
}

// takeLate returns, and forgets, the late answers for the object; those for an older version
// of it are dropped, and the clusters asked again.
func (r *SyncReconciler) takeLate(key types.NamespacedName, version string) map[string]clusterResult {
	r.lateMu.Lock()
	defer r.lateMu.Unlock()
	stored := r.late[key]
	delete(r.late, key)
	out := map[string]clusterResult{}
	for name, l := range stored {
		if l.version == version {
			out[name] = l.res
		}
	}
	return out
}
