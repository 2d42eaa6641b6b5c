package federate

import (
	"context"
	"errors"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/placement"
	"github.com/fedplane/fedplane/pkg/render"
)

// clusterResult is the outcome in one cluster.
type clusterResult struct {
	name         string
	decision     ClusterDecision
	status       typesv1beta1.PropagationStatus
	remoteStatus *typesv1beta1.Raw
	// version is the member object's version, when this control plane manages it there.
	version string
	// replicas and ready are a scalable workload's desired and ready replicas in the cluster,
	// and stale the replicas its copy still holds in a cluster that is not Ready, when its
	// remote status is collected (see countReplicas).
	replicas, ready, stale *int64
	written                bool
	// busy tells that no request could be sent to the member: it had no room, or a request
	// about the object was still outstanding.
	busy bool
	// inFlight tells that the cluster had not answered when its reconcile stopped waiting.
	inFlight bool
	// retry is set when the cluster must be tried again: after this long, or soon when the
	// error is set.
	retry time.Duration
	err   error
	// events are the events that the outcome asks for, recorded as it is reached.
	events []objectEvent
	// warnings are what rendering the cluster's object dropped from the template; the status
	// message tells them.
	warnings []render.Warning
	// renderFailure is why the cluster's object could not be rendered (its overrides or
	// template values do not apply, or its template is not a valid object); the status message
	// tells it.
	renderFailure string
}

// clusterSync is the sync of one federated object in one cluster: what is known of the
// cluster, and the place taken for a request to the member, if any.
type clusterSync struct {
	s *scope
	d placement.Decision
	// in is what Decide is given; read fills in the member copy.
	in ClusterInput
	// connected tells that the member has a client and a cache.
	connected bool
	// end gives back the place taken for a request to the member; nil when none is taken.
	end func()
	// fullRead tells that the copy was read whole from the member because the cache's slim
	// copy could not tell whether it still holds what was applied.
	fullRead bool
	// reread tells that a create found the object in the member and it was read again.
	reread bool
}

// syncCluster syncs the object in one cluster, in three steps: read the member copy from the
// member's cache (and, only when that cannot tell, from the member), decide with
// decideCluster, and write. A request to the member itself is sent only when the cluster is
// Ready, connected and not suspended, and only while the member has room for it (see
// cluster.Cache.Begin).
func (r *SyncReconciler) syncCluster(ctx context.Context, s *scope, d placement.Decision) clusterResult {
	ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("cluster", d.Name))
	c := r.newClusterSync(s, d)
	defer c.release()
	res := clusterResult{name: d.Name}
	if suspended := r.Members.Suspended(d.Name); suspended > 0 && d.Ready && d.Selected {
		res.retry = suspended
	}
	if res, stop := readResult(res, c.listed(), r.readCopy(ctx, c)); stop {
		return res
	}
	out, exists := r.decideAndWrite(ctx, c, res)
	if !exists {
		return out
	}
	// The create found a copy that the member's cache does not hold: one not managed (the
	// cache holds managed objects only), or one made a moment ago by this control plane or
	// another. It is read from the member's storage and decided on once more.
	if res, stop := readResult(res, c.listed(), r.readLive(ctx, c, "")); stop {
		return res
	}
	c.fullRead, c.reread = c.in.Existing != nil, true
	c.noteSource()
	out, _ = r.decideAndWrite(ctx, c, res)
	return out
}

// decideAndWrite decides with decideCluster on the copy read into c.in, and writes. exists
// tells that the decision was a create and the member already held the object: nothing was
// written nor told, and the copy is to be read.
func (r *SyncReconciler) decideAndWrite(ctx context.Context, c *clusterSync, res clusterResult) (_ clusterResult, exists bool) {
	c.in, res = r.decideCluster(c.s, c.d, c.in, res)
	if c.fullRead && res.decision.Action == ActionNone && c.in.Desired != nil && Matches(c.in.Desired, c.in.Existing) {
		r.Applied.record(c.key(), c.in.Existing)
	}
	r.emit(c.s, res.events)
	if c.in.Existing != nil && r.contend(c.s, c.d.Name, c.in, &res) {
		return res, false
	}
	return r.write(ctx, c, res)
}

// noteSource tells whether the copy read is the host object that the federated object was
// generated from.
func (c *clusterSync) noteSource() {
	c.in.Source = c.s.source != "" && c.in.Existing != nil && c.in.Existing.GetUID() == c.s.source
}

func (r *SyncReconciler) newClusterSync(s *scope, d placement.Decision) *clusterSync {
	_, connected := r.Members.Client(d.Name)
	suspended := r.Members.Suspended(d.Name)
	return &clusterSync{s: s, d: d, connected: connected, in: ClusterInput{
		Selected: d.Selected, Ready: d.Ready && connected && suspended == 0,
		Deleting: s.deleting, Orphan: s.orphan, AdoptResources: s.adopt, ControlPlaneID: r.ControlPlaneID, ClusterName: d.Name,
		MayHaveCopy: s.recorded[d.Name] || d.Selected,
	}}
}

// listed tells whether the cluster has an entry in status.clusters when its copy is not known.
func (c *clusterSync) listed() bool { return c.d.Selected || c.s.recorded[c.d.Name] }

// places tells whether the object is to be created or updated in the cluster now.
func (c *clusterSync) places() bool { return c.d.Selected && !c.s.deleting && c.in.Ready }

// confirmsGone tells whether a copy that the member's cache does not hold must be looked for
// in the member itself, because the object is being deleted from a Ready cluster that may
// have it: the cache may not have seen a copy created a moment ago (by this control plane or
// by one killed before), and once the finalizer is removed nothing would delete that copy.
func (c *clusterSync) confirmsGone() bool {
	return c.s.deleting && c.in.Ready && c.in.MayHaveCopy
}

// reserve takes a place for a request to the member; false means the member has no room, or
// a request about this object is still outstanding (its answer brings the object back).
func (r *SyncReconciler) reserve(c *clusterSync) bool {
	if c.end == nil {
		c.end, _ = r.Members.Begin(c.d.Name, r.Type.Name+"/"+client.ObjectKeyFromObject(c.s.fed).String())
	}
	return c.end != nil
}

func (c *clusterSync) release() {
	if c.end != nil {
		c.end()
	}
}

// readLive reads the copy from the member into c.in.Existing: at least as new as version, ""
// meaning a quorum read and "0" any version the member's watch cache holds.
func (r *SyncReconciler) readLive(ctx context.Context, c *clusterSync, version string) copyRead {
	if !r.reserve(c) {
		return copyRead{busy: true}
	}
	lc, _ := r.Members.LiveClient(c.d.Name)
	cctx, cancel := context.WithTimeout(ctx, r.timeout())
	existing, err := r.liveCopy(cctx, c.s, lc, version)
	cancel()
	if err != nil {
		if isTimeout(err) {
			r.Members.ReportTimeout(c.d.Name)
		}
		return copyRead{err: err}
	}
	c.in.Existing = existing
	return copyRead{}
}

// key is the object and cluster of the sync.
func (c *clusterSync) key() ContentionKey {
	return ContentionKey{Object: client.ObjectKeyFromObject(c.s.fed), Cluster: c.d.Name}
}

// copyRead is what reading one cluster's copy found.
type copyRead struct {
	// err is why the copy could not be read: errNotSynced when the member's cache has not
	// listed the kind yet.
	err error
	// justConnected tells that the member connected less than a member timeout ago.
	justConnected bool
	// busy tells that the member had no room for the read.
	busy bool
}

// readCopy reads the member copy into c.in: from the member's cache, which never waits; from
// the member when the cache holds no copy and a deletion must be sure that none is left
// (confirmsGone), or when the cache's slim copy cannot tell whether the copy still holds what
// was applied; and, for a namespace to be removed, whether it is the host's own.
func (r *SyncReconciler) readCopy(ctx context.Context, c *clusterSync) copyRead {
	name := c.d.Name
	if c.connected {
		existing, err := r.cachedCopy(ctx, c.s, name)
		switch {
		case errors.Is(err, errNotSynced) && !c.in.Ready:
			// Nothing can be done there now; say so, as for a cluster not connected.
		case err != nil:
			return copyRead{err: err, justConnected: r.Members.ConnectedFor(name) < r.timeout()}
		}
		c.in.Existing = existing
	}
	key := c.key()
	switch {
	case c.in.Existing == nil && c.confirmsGone():
		r.Applied.forget(key)
		if read := r.readLive(ctx, c, ""); read.err != nil || read.busy {
			return read
		}
	case c.in.Existing == nil && c.places() && heldOutsideTheCache(c.s.previousStatus(name)):
		// The last sync found an object there that the cache does not hold (one not managed,
		// or the host object itself): it is read, so that a create refused with AlreadyExists
		// is not sent at each sync. The member's watch cache is enough; a copy it misses is
		// created, and the create tells.
		r.Applied.forget(key)
		if read := r.readLive(ctx, c, "0"); read.err != nil || read.busy {
			return read
		}
		c.fullRead = c.in.Existing != nil
	case c.in.Existing == nil:
		// A copy to be made is not looked for first: its create fails when the member holds
		// one, and it is read then (see syncCluster).
		r.Applied.forget(key)
	case cluster.IsSlim(c.in.Existing) && c.places() && r.Applied.holds(key, c.in.Existing):
		c.in.ExistingApplied = true
	case cluster.IsSlim(c.in.Existing) && c.places():
		// The cache keeps no body: the copy is read whole, at least as new as the cache's.
		if read := r.readLive(ctx, c, c.in.Existing.GetResourceVersion()); read.err != nil || read.busy {
			return read
		}
		c.fullRead = c.in.Existing != nil
	}
	c.noteSource()
	if (c.s.deleting || !c.d.Selected) && r.Type.isNamespace() && c.in.Existing != nil && c.in.Existing.GetLabels()[contract.ManagedLabel] == "true" {
		host, err := r.isHostNamespace(ctx, c.in.Existing)
		if err != nil {
			return copyRead{err: err}
		}
		c.in.HostNamespace = host
	}
	return copyRead{}
}

// heldOutsideTheCache tells whether a cluster's status says that the member holds an object
// that the member's cache does not: an object not managed, or the host object that the
// federated object was made from.
func heldOutsideTheCache(status typesv1beta1.PropagationStatus) bool {
	switch status {
	case typesv1beta1.AlreadyExists, typesv1beta1.ManagedLabelFalse, typesv1beta1.SourceObject:
		return true
	}
	return false
}
