package conflict

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestJoin(t *testing.T) {
	gr := schema.GroupResource{Resource: "things"}
	stale := apierrors.NewConflict(gr, "a", errors.New("the object has been modified"))
	created := apierrors.NewAlreadyExists(gr, "a")
	denied := apierrors.NewForbidden(gr, "a", errors.New("no"))
	earlier := errors.New("cluster cce: boom")
	cases := []struct {
		name       string
		result     reconcile.Result
		err, werr  error
		want       reconcile.Result
		wantErr    string
		wantLogged bool
	}{
		{name: "a write that succeeded keeps the reconcile's outcome", result: reconcile.Result{RequeueAfter: time.Minute}, err: earlier, want: reconcile.Result{RequeueAfter: time.Minute}, wantErr: earlier.Error()},
		{name: "a conflict is tried again shortly, and is no error", werr: stale, want: reconcile.Result{RequeueAfter: Recheck}, wantLogged: true},
		{name: "a create of an object created meanwhile is a race too", werr: created, want: reconcile.Result{RequeueAfter: Recheck}, wantLogged: true},
		{name: "a conflict keeps an earlier requeue that is sooner", result: reconcile.Result{RequeueAfter: time.Millisecond}, werr: stale, want: reconcile.Result{RequeueAfter: time.Millisecond}, wantLogged: true},
		{name: "a conflict keeps the reconcile's own error", err: earlier, werr: stale, want: reconcile.Result{RequeueAfter: Recheck}, wantErr: earlier.Error(), wantLogged: true},
		{name: "any other failure is an error that says which write failed", werr: denied, wantErr: "failed to write the status: " + denied.Error()},
		{name: "and is joined to the reconcile's own error", err: earlier, werr: denied, wantErr: earlier.Error() + "\nfailed to write the status: " + denied.Error()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			ctx := ctrl.LoggerInto(context.Background(), funcr.New(func(prefix, args string) { log.WriteString(prefix + args + "\n") }, funcr.Options{Verbosity: 1}))
			got, err := Join(ctx, "write the status", tc.result, tc.err, tc.werr)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tc.wantErr {
				t.Errorf("error = %q, want %q", gotErr, tc.wantErr)
			}
			if tc.wantErr != "" && tc.werr != nil && !errors.Is(err, tc.werr) && !errors.Is(err, tc.err) {
				t.Errorf("error %v does not wrap the write's failure", err)
			}
			logged := strings.Contains(log.String(), `"level"=1`) && strings.Contains(log.String(), `"write"="write the status"`)
			if logged != tc.wantLogged || strings.Count(log.String(), "\n") > 1 {
				t.Errorf("log = %q, want a V(1) line naming the write: %t", log.String(), tc.wantLogged)
			}
		})
	}
}

func TestRetry(t *testing.T) {
	stale := apierrors.NewConflict(schema.GroupResource{Resource: "things"}, "a", errors.New("the object has been modified"))
	if got, err := Retry(context.Background(), "add the finalizer", stale); err != nil || got.RequeueAfter != Recheck {
		t.Errorf("Retry(conflict) = %+v, %v; want a requeue after %v and no error", got, err, Recheck)
	}
	denied := apierrors.NewForbidden(schema.GroupResource{Resource: "things"}, "a", errors.New("no"))
	if _, err := Retry(context.Background(), "add the finalizer", denied); !errors.Is(err, denied) || !strings.HasPrefix(err.Error(), "failed to add the finalizer: ") {
		t.Errorf("Retry(forbidden) error = %v, want it wrapped as failed to add the finalizer", err)
	}
}
