package cluster

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
)

// answering starts a server that answers every request with status and body.
func answering(t *testing.T, status int, contentType, body string) *Prober {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	// The test servers are plain HTTP: the prober is built without RESTConfig, which refuses
	// such endpoints.
	p, err := NewProber(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGetBounded(t *testing.T) {
	const limit = 16
	notFound := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`
	cases := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        string
		wantErr     func(error) bool
		wantMessage string
	}{
		{name: "a short answer is read whole", status: http.StatusOK, body: "ok", want: "ok"},
		{name: "an answer of exactly the limit is read whole", status: http.StatusOK, body: strings.Repeat("x", limit), want: strings.Repeat("x", limit)},
		{name: "an answer one byte over the limit is too large", status: http.StatusOK, body: strings.Repeat("x", limit+1), wantMessage: "the answer to /path is too large: over 16 bytes"},
		{name: "a plain 404 is NotFound", status: http.StatusNotFound, body: "404 page not found", wantErr: apierrors.IsNotFound},
		{name: "a Status 404 is NotFound", status: http.StatusNotFound, contentType: "application/json", body: notFound, wantErr: apierrors.IsNotFound},
		{name: "a 500 is an API error with its code", status: http.StatusInternalServerError, body: "[-]etcd failed\nreadyz check failed", wantErr: func(err error) bool {
			var status apierrors.APIStatus
			return errors.As(err, &status) && status.Status().Code == http.StatusInternalServerError
		}},
		{name: "an error answer over the limit of errors is too large", status: http.StatusServiceUnavailable, body: strings.Repeat("x", errorAnswerLimit+1), wantMessage: "the answer to /path is too large: over 65536 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := answering(t, tc.status, tc.contentType, tc.body).getBounded(t.Context(), "/path", limit)
			switch {
			case tc.wantMessage != "":
				var tooLarge *tooLargeError
				if !errors.As(err, &tooLarge) || !strings.Contains(err.Error(), tc.wantMessage) {
					t.Fatalf("getBounded() error = %v, want a *tooLargeError saying %q", err, tc.wantMessage)
				}
			case tc.wantErr != nil:
				if !tc.wantErr(err) {
					t.Fatalf("getBounded() error = %v (%T), not the one wanted", err, err)
				}
			case err != nil:
				t.Fatalf("getBounded() error = %v", err)
			default:
				if diff := cmp.Diff(tc.want, string(got)); diff != "" {
					t.Errorf("getBounded() (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestProbeOutcomes(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   Probe
	}{
		{name: "ok is Healthy", status: http.StatusOK, body: "ok\n", want: Probe{Outcome: Healthy}},
		{name: "another answer is Unhealthy", status: http.StatusOK, body: "not yet", want: Probe{Outcome: Unhealthy, Detail: "the health endpoint did not answer ok"}},
		{name: "a 500 is Unhealthy with its code", status: http.StatusInternalServerError, body: "readyz check failed", want: Probe{Outcome: Unhealthy, Detail: "the health endpoint answered 500"}},
		{name: "an answer too large to be ok is Unhealthy and says so", status: http.StatusOK, body: strings.Repeat("ok", healthLimit), want: Probe{Outcome: Unhealthy, Detail: "the answer to /readyz is too large: over 16384 bytes"}},
		{name: "an error answer too large is Unhealthy and says so", status: http.StatusServiceUnavailable, body: strings.Repeat("x", errorAnswerLimit+1), want: Probe{Outcome: Unhealthy, Detail: "the answer to /readyz is too large: over 65536 bytes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := answering(t, tc.status, "", tc.body).Probe(t.Context(), 5*time.Second)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Probe() (-want +got):\n%s", diff)
			}
		})
	}
}
