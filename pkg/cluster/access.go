package cluster

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Denial is a request that a member's authorizer refused to the control plane's identity: the
// member's role, made by fedctl join, does not grant the verb on the resource.
type Denial struct {
	// Verb is the request's verb: list, watch, get, create, update, patch or delete.
	Verb string
	// Resource is the resource of the request; a subresource is "resource/subresource".
	Resource schema.GroupResource
}

// String names the verb and the resource as kubectl does: "list configmaps",
// "patch deployments.apps".
func (d Denial) String() string { return d.Verb + " " + d.Resource.String() }

// DeniedError says that a member denies the requests with which its cache lists or watches a
// kind: the cache does not hold the member's objects of the kind.
type DeniedError struct {
	Denial
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("the member denies %s to the control plane: its cache cannot hold them", e.Denial)
}

// authorizerRefusal is how a Kubernetes API server's authorizer words its refusal of a
// resource request; admission refusals (a quota, a namespace being deleted) are worded
// otherwise.
var authorizerRefusal = regexp.MustCompile(`cannot (\S+) resource "([^"]*)" in API group "([^"]*)"`)

// Denied tells whether err says that a member refused a request because its role does not grant
// it, and which request. Other refusals (Forbidden by admission: a quota, a namespace being
// deleted, an RBAC object that grants more than the role holds) are not denials.
func Denied(err error) (Denial, bool) {
	var de *DeniedError
	if errors.As(err, &de) {
		return de.Denial, true
	}
	var status apierrors.APIStatus
	if !apierrors.IsForbidden(err) || !errors.As(err, &status) {
		return Denial{}, false
	}
	m := authorizerRefusal.FindStringSubmatch(status.Status().Message)
	if m == nil {
		return Denial{}, false
	}
	return Denial{Verb: m[1], Resource: schema.GroupResource{Group: m[3], Resource: m[2]}}, true
}

// accessLog keeps the list and watch requests of a member's cache that the member denies, by
// resource, as the answers to them come: a denied request is recorded, and an allowed one of
// the same verb and resource clears it.
type accessLog struct {
	mu     sync.Mutex
	denied map[schema.GroupResource]map[string]bool
}

// observe records the answer to a list or watch of resource.
func (a *accessLog) observe(verb string, resource schema.GroupResource, denied bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !denied {
		delete(a.denied[resource], verb)
		return
	}
	if a.denied == nil {
		a.denied = map[schema.GroupResource]map[string]bool{}
	}
	if a.denied[resource] == nil {
		a.denied[resource] = map[string]bool{}
	}
	a.denied[resource][verb] = true
}

// denial returns the denied request of resource, list before watch, if there is one.
func (a *accessLog) denial(resource schema.GroupResource) (Denial, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, verb := range []string{"list", "watch"} {
		if a.denied[resource][verb] {
			return Denial{Verb: verb, Resource: resource}, true
		}
	}
	return Denial{}, false
}

// forget drops what is known of resource, whose informer is removed.
func (a *accessLog) forget(resource schema.GroupResource) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.denied, resource)
}

// observing is the transport of a member's cache: it tells log how the member answers each
// list and watch, so that a cache that cannot list or watch a kind says why.
type observing struct {
	next http.RoundTripper
	log  *accessLog
}

// RoundTrip sends the request and records the answer to a list or watch.
func (o *observing) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if verb, resource, ok := collectionRequest(req); ok {
		switch {
		case resp.StatusCode == http.StatusForbidden:
			o.log.observe(verb, resource, true)
		case resp.StatusCode < http.StatusBadRequest:
			o.log.observe(verb, resource, false)
			if verb == "watch" && req.URL.Query().Get("sendInitialEvents") == "true" {
				// A watch that starts with every object is the cache's list too: after it,
				// the cache sends no list that would clear an earlier denied one.
				o.log.observe("list", resource, false)
			}
		}
	}
	return resp, err
}

// collectionRequest tells whether req lists or watches a resource (in all namespaces or in
// one), and which: /api/v1/configmaps, /apis/apps/v1/namespaces/web/deployments?watch=true.
func collectionRequest(req *http.Request) (verb string, resource schema.GroupResource, ok bool) {
	if req.Method != http.MethodGet {
		return "", schema.GroupResource{}, false
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		resource.Group, parts = parts[1], parts[3:]
	default:
		return "", schema.GroupResource{}, false
	}
	switch {
	case len(parts) == 1:
		resource.Resource = parts[0]
	case len(parts) == 3 && parts[0] == "namespaces":
		resource.Resource = parts[2]
	default:
		return "", schema.GroupResource{}, false
	}
	verb = "list"
	if w := req.URL.Query().Get("watch"); w == "true" || w == "1" {
		verb = "watch"
	}
	return verb, resource, true
}
