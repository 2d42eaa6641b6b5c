package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IdentityNamespace is the namespace whose UID identifies a cluster: every cluster has it, it
// is never deleted, and it keeps its UID for the life of the cluster.
const IdentityNamespace = "kube-system"

// identityLimit bounds the answer for the kube-system namespace: a namespace is a few hundred
// bytes.
const identityLimit = 64 << 10

// msgIdentityUnknown is the caveat of a Ready member whose identity cannot be read.
const msgIdentityUnknown = "the member refuses to show namespace kube-system, so a second registration of this cluster would not be detected; join it again to grant that read"

// errIdentityUnknown says that the member does not let the control plane read its identity.
var errIdentityUnknown = errors.New("the member's identity cannot be read")

// Identity reads the member's identity, the UID of its kube-system namespace, giving up after
// timeout. It is also the probe's proof that the member answers ordinary API requests, not only
// its health endpoint. A member that refuses the read (an older join's role may not allow it)
// gives errIdentityUnknown.
func (p *Prober) Identity(ctx context.Context, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := p.getBounded(ctx, "/api/v1/namespaces/"+IdentityNamespace, identityLimit)
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
		return "", errIdentityUnknown
	case err != nil:
		return "", fmt.Errorf("%s", describe(ctx, err, timeout))
	}
	var ns metav1.PartialObjectMetadata
	if err := json.Unmarshal(body, &ns); err != nil || ns.UID == "" {
		return "", fmt.Errorf("the answer for namespace %s is not a namespace", IdentityNamespace)
	}
	return string(ns.UID), nil
}

// identity is a registration's claim to a cluster.
type identity struct {
	id      string
	created time.Time
}

// claim records that registration name reaches cluster id, and returns the name of the
// registration that the cluster belongs to: the oldest one that reaches it (by creation time,
// then name). A registration whose claim is not its own is not used.
func (r *HealthReconciler) claim(name, id string, created time.Time) string {
	r.idMu.Lock()
	defer r.idMu.Unlock()
	if r.ids == nil {
		r.ids = map[string]identity{}
	}
	r.ids[name] = identity{id: id, created: created}
	owner, first := name, r.ids[name]
	for other, c := range r.ids {
		if c.id != id {
			continue
		}
		if c.created.Before(first.created) || (c.created.Equal(first.created) && other < owner) {
			owner, first = other, c
		}
	}
	return owner
}

// release forgets a registration's claim, when it is removed or its probes stop.
func (r *HealthReconciler) release(name string) {
	r.idMu.Lock()
	defer r.idMu.Unlock()
	delete(r.ids, name)
}

// identify completes a healthy probe with the member's identity, and turns it into a
// Duplicate when an older registration reaches the same cluster, or into Unhealthy when the
// member answers its health endpoint but not an ordinary request.
func (r *HealthReconciler) identify(ctx context.Context, name string, created time.Time, prober *Prober, timeout time.Duration, probe Probe) Probe {
	id, err := prober.Identity(ctx, timeout)
	switch {
	case errors.Is(err, errIdentityUnknown):
		// Without the identity no duplicate can be found; the registration is still used, and
		// its Ready message says what is missing.
		probe.Detail = msgIdentityUnknown
		return probe
	case err != nil:
		return Probe{Outcome: Unhealthy, Detail: fmt.Sprintf("the health endpoint answered ok, but reading namespace %s did not: %v", IdentityNamespace, err)}
	}
	probe.ClusterID = id
	if owner := r.claim(name, id, created); owner != name {
		return Probe{Outcome: Duplicate, ClusterID: id, Detail: fmt.Sprintf("the same cluster as KubeFedCluster %s (kube-system namespace UID %s); this registration is not used", owner, id)}
	}
	return probe
}
