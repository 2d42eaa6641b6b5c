package conflict

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Recheck is how soon a write that lost a race with another write is tried again.
const Recheck = time.Second

// Is tells whether the failure of a host write is a race with another write: a conflict (the
// write carried a resourceVersion that another write made stale), or a create of an object that
// another write created since the cache was read.
func Is(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}

// Benign tells whether the failure of a host write is a race (see Is), and logs a race at V(1),
// with what names the write ("write the status"); nothing else is logged.
func Benign(ctx context.Context, what string, err error) bool {
	if !Is(err) {
		return false
	}
	ctrl.LoggerFrom(ctx).V(1).Info("write raced with another; trying again shortly", "write", what, "err", err.Error())
	return true
}

// Retry turns the failure of a host write, err, into a reconcile's result: a race (see Is) is
// logged at V(1) and tried again after Recheck, and is no error; any other failure is returned, as "failed
// to <what>", so that it is retried with backoff.
func Retry(ctx context.Context, what string, err error) (reconcile.Result, error) {
	return Join(ctx, what, reconcile.Result{}, nil, err)
}

// Join adds the outcome of a host write, werr, to the result and error that the reconcile
// reached before it: they are kept when the write succeeded; a race brings the reconcile back
// after Recheck at the latest, the reconcile's own error kept; any other failure is joined to
// that error, as "failed to <what>".
func Join(ctx context.Context, what string, result reconcile.Result, err, werr error) (reconcile.Result, error) {
	switch {
	case werr == nil:
		return result, err
	case Benign(ctx, what, werr):
		if result.RequeueAfter <= 0 || result.RequeueAfter > Recheck {
			result.RequeueAfter = Recheck
		}
		return result, err
	}
	werr = fmt.Errorf("failed to %s: %w", what, werr)
	if err == nil {
		return reconcile.Result{}, werr
	}
	return reconcile.Result{}, errors.Join(err, werr)
}
