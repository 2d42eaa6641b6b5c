package framework

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// HealthProxy serves the API of a cluster over TLS on loopback and passes every request on,
// except that while it is set unhealthy the health endpoints (/readyz, /healthz, /livez and
// their checks) answer 500: the control plane then sees the cluster as not Ready while it
// still answers every other request, as a member whose own health check fails does. The
// control plane reaches the cluster through it with RegisterEndpoint(ctx, host, name,
// proxy.Endpoint, proxy.CA, c.Token()).
type HealthProxy struct {
	// Endpoint is the proxy's https URL.
	Endpoint string
	// CA is the PEM certificate that Endpoint's certificate is.
	CA []byte

	unhealthy atomic.Bool
}

// StartHealthProxy starts a HealthProxy in front of c, healthy; it stops when the test ends.
func StartHealthProxy(t testing.TB, c *Cluster) *HealthProxy {
	t.Helper()
	p := &HealthProxy{}
	proxy := reverseProxyTo(t, c)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.unhealthy.Load() && isHealthPath(r.URL.Path) {
			http.Error(w, "[-]etcd failed: reason withheld\nhealthz check failed", http.StatusInternalServerError)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	p.Endpoint, p.CA = serveTLS(t, srv)
	return p
}

// SetHealthy makes the health endpoints answer as the cluster does (true) or fail (false).
func (p *HealthProxy) SetHealthy(healthy bool) { p.unhealthy.Store(!healthy) }

func isHealthPath(path string) bool {
	for _, prefix := range []string{"/readyz", "/healthz", "/livez"} {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return true
		}
	}
	return false
}
