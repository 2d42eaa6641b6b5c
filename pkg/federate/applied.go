package federate

import (
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/fedplane/fedplane/api/contract"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// AppliedCopies remembers, for each federated object and cluster, the version of the member
// copy last seen holding what this control plane applied to it (its generation, or its
// resourceVersion for kinds without one; see ClusterVersion) and the hash it was applied with
// (contract.AppliedAnnotation). The member caches keep only the copies' metadata and status
// (see cluster.Slim): a cached copy whose version and hash are those remembered still has the
// body that was applied, and is not read again; any other write to its body changes its
// version, and the copy is then read whole from the member and compared. Its metadata is
// always compared as cached. It lives in memory: after a start every copy is read whole once.
// A nil AppliedCopies remembers nothing, and every copy is read whole.
type AppliedCopies struct {
	mu     sync.Mutex
	copies map[ContentionKey]appliedCopy
}

// appliedCopy is a copy's version and applied hash when it was last seen as applied.
type appliedCopy struct {
	version, hash string
}

// record remembers obj, a whole copy that holds what was applied.
func (a *AppliedCopies) record(key ContentionKey, obj *unstructured.Unstructured) {
	if a == nil || obj == nil || cluster.IsSlim(obj) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.copies == nil {
		a.copies = map[ContentionKey]appliedCopy{}
	}
	a.copies[key] = appliedCopy{version: ClusterVersion(obj), hash: obj.GetAnnotations()[contract.AppliedAnnotation]}
}

// holds tells whether the cached copy is still the one last seen as applied.
func (a *AppliedCopies) holds(key ContentionKey, cached *unstructured.Unstructured) bool {
	if a == nil || cached == nil {
		return false
	}
	a.mu.Lock()
	c, ok := a.copies[key]
	a.mu.Unlock()
	return ok && c.hash != "" && c.version == ClusterVersion(cached) && c.hash == cached.GetAnnotations()[contract.AppliedAnnotation]
}

// forget drops what is known of a copy that is gone or no longer managed.
func (a *AppliedCopies) forget(key ContentionKey) {
	if a == nil {
		return
	}
	a.mu.Lock()
	delete(a.copies, key)
	a.mu.Unlock()
}

// completeCopy is the copy that a slim cached copy stands for when it holds what was applied
// and desired is what was applied (the hashes agree): desired's body with the cached metadata
// and status, so that Decide compares the metadata as the member holds it. A Secret's
// stringData is folded into its data, as the member stores it.
func completeCopy(desired, slim *unstructured.Unstructured) *unstructured.Unstructured {
	out := desired.DeepCopy()
	out.Object = asStored(out)
	out.Object["metadata"] = runtime.DeepCopyJSONValue(slim.Object["metadata"])
	if st, ok := slim.Object["status"]; ok {
		out.Object["status"] = runtime.DeepCopyJSONValue(st)
	} else {
		delete(out.Object, "status")
	}
	return out
}
