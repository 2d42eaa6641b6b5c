package cluster

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// refusal is a Forbidden error worded as an API server's authorizer words it.
func refusal(verb, group, resource, scope string) error {
	gr := schema.GroupResource{Group: group, Resource: resource}
	return apierrors.NewForbidden(gr, "settings", fmt.Errorf(`User "system:serviceaccount:kube-federation-system:local-host" cannot %s resource %q in API group %q %s`, verb, resource, group, scope))
}

func TestDenied(t *testing.T) {
	configMaps := schema.GroupResource{Resource: "configmaps"}
	terminating := apierrors.NewForbidden(configMaps, "settings", errors.New("unable to create new content in namespace web because it is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}
	cases := []struct {
		name   string
		err    error
		want   Denial
		denied bool
	}{
		{name: "no error", err: nil},
		{name: "not forbidden", err: apierrors.NewNotFound(configMaps, "settings")},
		{
			name: "a list the role does not grant, at the cluster scope",
			err:  fmt.Errorf("failed to list: %w", refusal("list", "", "configmaps", "at the cluster scope")),
			want: Denial{Verb: "list", Resource: configMaps}, denied: true,
		},
		{
			name: "a patch in a namespace, of a named group",
			err:  refusal("patch", "apps", "deployments", `in the namespace "web"`),
			want: Denial{Verb: "patch", Resource: schema.GroupResource{Group: "apps", Resource: "deployments"}}, denied: true,
		},
		{
			name: "a subresource",
			err:  refusal("update", "apps", "deployments/status", `in the namespace "web"`),
			want: Denial{Verb: "update", Resource: schema.GroupResource{Group: "apps", Resource: "deployments/status"}}, denied: true,
		},
		{name: "admission's refusal of a namespace being deleted is no denial", err: terminating},
		{name: "a quota is no denial", err: apierrors.NewForbidden(configMaps, "settings", errors.New("exceeded quota: q, requested: count/configmaps=1"))},
		{
			name: "an RBAC object that grants more than the role holds is no denial",
			err:  apierrors.NewForbidden(schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "roles"}, "r", errors.New(`user "x" (groups=["a"]) is attempting to grant RBAC permissions not currently held`)),
		},
		{
			name: "the member cache's own error",
			err:  fmt.Errorf("read: %w", &DeniedError{Denial: Denial{Verb: "watch", Resource: configMaps}}),
			want: Denial{Verb: "watch", Resource: configMaps}, denied: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, denied := Denied(tc.err)
			if denied != tc.denied {
				t.Errorf("Denied() denied = %t, want %t", denied, tc.denied)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Denied() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCollectionRequest(t *testing.T) {
	type request struct {
		Verb     string
		Resource schema.GroupResource
		OK       bool
	}
	cases := []struct {
		name, method, url string
		want              request
	}{
		{name: "core list in every namespace", method: http.MethodGet, url: "/api/v1/configmaps?labelSelector=kubefed.io%2Fmanaged%3Dtrue&limit=500",
			want: request{Verb: "list", Resource: schema.GroupResource{Resource: "configmaps"}, OK: true}},
		{name: "group watch in one namespace", method: http.MethodGet, url: "/apis/apps/v1/namespaces/web/deployments?watch=true&resourceVersion=5",
			want: request{Verb: "watch", Resource: schema.GroupResource{Group: "apps", Resource: "deployments"}, OK: true}},
		{name: "cluster-scoped namespaces", method: http.MethodGet, url: "/api/v1/namespaces?watch=1",
			want: request{Verb: "watch", Resource: schema.GroupResource{Resource: "namespaces"}, OK: true}},
		{name: "one named object is no collection", method: http.MethodGet, url: "/api/v1/namespaces/kube-system"},
		{name: "a namespaced object is no collection", method: http.MethodGet, url: "/api/v1/namespaces/web/configmaps/settings"},
		{name: "a write", method: http.MethodPatch, url: "/api/v1/namespaces/web/configmaps"},
		{name: "discovery", method: http.MethodGet, url: "/apis/apps/v1"},
		{name: "a health endpoint", method: http.MethodGet, url: "/readyz"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse("https://127.0.0.1:6443" + tc.url)
			if err != nil {
				t.Fatal(err)
			}
			var got request
			got.Verb, got.Resource, got.OK = collectionRequest(&http.Request{Method: tc.method, URL: u})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("collectionRequest() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAccessLog(t *testing.T) {
	configMaps := schema.GroupResource{Resource: "configmaps"}
	deployments := schema.GroupResource{Group: "apps", Resource: "deployments"}
	type answer struct {
		verb     string
		resource schema.GroupResource
		denied   bool
	}
	cases := []struct {
		name    string
		answers []answer
		forget  bool
		want    *Denial
	}{
		{name: "nothing seen", want: nil},
		{name: "a denied list", answers: []answer{{"list", configMaps, true}}, want: &Denial{Verb: "list", Resource: configMaps}},
		{name: "a denied list, then an allowed one", answers: []answer{{"list", configMaps, true}, {"list", configMaps, false}}, want: nil},
		{
			name:    "list and watch denied: list first; an allowed watch leaves the list",
			answers: []answer{{"watch", configMaps, true}, {"list", configMaps, true}, {"watch", configMaps, false}},
			want:    &Denial{Verb: "list", Resource: configMaps},
		},
		{name: "an allowed list leaves a denied watch", answers: []answer{{"watch", configMaps, true}, {"list", configMaps, false}}, want: &Denial{Verb: "watch", Resource: configMaps}},
		{name: "another resource's answer changes nothing", answers: []answer{{"list", configMaps, true}, {"list", deployments, false}}, want: &Denial{Verb: "list", Resource: configMaps}},
		{name: "a removed informer is forgotten", answers: []answer{{"list", configMaps, true}}, forget: true, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &accessLog{}
			for _, ans := range tc.answers {
				a.observe(ans.verb, ans.resource, ans.denied)
			}
			if tc.forget {
				a.forget(configMaps)
			}
			var got *Denial
			if d, ok := a.denial(configMaps); ok {
				got = &d
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("denial() (-want +got):\n%s", diff)
			}
		})
	}
}

// statusTransport is a transport that answers every request with one status code.
type statusTransport int

func (a statusTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: int(a), Request: req, Body: http.NoBody}, nil
}

// TestObservingTransport sends the cache's requests through the observing transport, as the
// informer of a kind does, and reads what is denied after each answer.
func TestObservingTransport(t *testing.T) {
	configMaps := schema.GroupResource{Resource: "configmaps"}
	const (
		list      = "/api/v1/configmaps?labelSelector=kubefed.io%2Fmanaged%3Dtrue&limit=500"
		watch     = "/api/v1/configmaps?labelSelector=kubefed.io%2Fmanaged%3Dtrue&watch=true"
		watchList = "/api/v1/configmaps?labelSelector=kubefed.io%2Fmanaged%3Dtrue&sendInitialEvents=true&watch=true"
	)
	type step struct {
		path   string
		status int
	}
	cases := []struct {
		name  string
		steps []step
		want  string
	}{
		{name: "a list denied", steps: []step{{list, http.StatusForbidden}}, want: "list configmaps"},
		{name: "a list denied, then allowed", steps: []step{{list, http.StatusForbidden}, {list, http.StatusOK}}, want: ""},
		{name: "a list allowed and a watch denied", steps: []step{{list, http.StatusOK}, {watch, http.StatusForbidden}}, want: "watch configmaps"},
		{
			name:  "a watch that lists, denied, a list denied, then the watch that lists allowed: nothing is denied any more",
			steps: []step{{watchList, http.StatusForbidden}, {list, http.StatusForbidden}, {watchList, http.StatusOK}},
			want:  "",
		},
		{name: "another failure says nothing of access", steps: []step{{list, http.StatusForbidden}, {list, http.StatusServiceUnavailable}}, want: "list configmaps"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log := &accessLog{}
			for _, s := range tc.steps {
				u, err := url.Parse("https://127.0.0.1:6443" + s.path)
				if err != nil {
					t.Fatal(err)
				}
				o := &observing{next: statusTransport(s.status), log: log}
				resp, err := o.RoundTrip(&http.Request{Method: http.MethodGet, URL: u})
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
			}
			got := ""
			if d, ok := log.denial(configMaps); ok {
				got = d.String()
			}
			if got != tc.want {
				t.Errorf("denial after %v = %q, want %q", tc.steps, got, tc.want)
			}
		})
	}
}
