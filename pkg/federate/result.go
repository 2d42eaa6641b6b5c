package federate

import (
	"errors"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// requeue turns the clusters' outcomes into the reconcile's result: an error (retried with
// backoff) when a write failed, else a delay when a suspended cluster must be tried again.
func requeue(results []clusterResult) (reconcile.Result, error) {
	var errs []error
	var after time.Duration
	for _, res := range results {
		if res.err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", res.name, res.err))
		}
		if res.retry > 0 && (after == 0 || res.retry < after) {
			after = res.retry
		}
	}
	if len(errs) > 0 {
		return reconcile.Result{}, errors.Join(errs...)
	}
	return reconcile.Result{RequeueAfter: after}, nil
}

// pending tells whether a cluster still holds a copy that must go before the federated
// object may.
func pending(results []clusterResult) bool {
	return len(waitingFor(results)) > 0
}

// waitingFor names the clusters, in the order of results, that still hold a copy that must go
// before the federated object may.
func waitingFor(results []clusterResult) []string {
	var names []string
	for _, res := range results {
		// An orphaned copy is done once unlabelled; a deleted one only once it is gone.
		if res.decision.Pending && (!res.written || res.decision.Action != ActionOrphan) {
			names = append(names, res.name)
		}
	}
	return names
}
