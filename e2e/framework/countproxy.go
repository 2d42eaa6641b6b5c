package framework

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// Write is one request other than GET that went through a CountingProxy.
type Write struct {
	// Received is when the proxy read the request.
	Received time.Time
	// Conn names the client's connection (its address and a serial number, as a port may be
	// used again): it tells which process sent the write.
	Conn string
	// Method and Path are the request's.
	Method, Path string
	// Object is the path of the object written: Path, or for a create (a POST to a collection)
	// Path and the name of the object in the answer, the one made or the one that already
	// existed; Path when the answer names none.
	Object string
	// Answered is when the API server's answer came; zero when none came.
	Answered time.Time
	// Status is the API server's answer; 0 when none came.
	Status int
	// ResourceVersion is the resourceVersion of the object in a successful answer. A write
	// that changed nothing (a no-op apply) answers with the version the object had.
	ResourceVersion string
}

// CountingProxy serves the API of a cluster over TLS on loopback and passes every request on,
// recording each write and the API server's answer, and each read of one object (a GET that
// is neither a list nor a watch). A write is carried out even when its client
// goes away (as a killed process does) so that every write that reached the API server has an
// answer in the record. The control plane reaches the cluster through it with
// RegisterEndpoint(ctx, host, name, proxy.Endpoint, proxy.CA, c.Token()).
type CountingProxy struct {
	// Endpoint is the proxy's https URL.
	Endpoint string
	// CA is the PEM certificate that Endpoint's certificate is.
	CA []byte

	mu     sync.Mutex
	writes []Write
	reads  []Read
	conns  map[string]time.Time
	opened int
}

// StartCountingProxy starts a CountingProxy in front of c; it stops when the test ends.
func StartCountingProxy(t testing.TB, c *Cluster) *CountingProxy {
	t.Helper()
	p := &CountingProxy{conns: map[string]time.Time{}}
	proxy := reverseProxyTo(t, c)
	proxy.ModifyResponse = p.answered
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			p.read(r)
			proxy.ServeHTTP(w, r)
			return
		}
		// The answer must be read even when the client is gone; the body is small.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
		defer cancel()
		r = r.WithContext(context.WithValue(ctx, writeKey{}, p.received(r)))
		// A plain answer, so that its resourceVersion can be read.
		r.Header.Del("Accept-Encoding")
		proxy.ServeHTTP(w, r)
	}))
	srv.Config.ConnContext = p.accepted
	p.Endpoint, p.CA = serveTLS(t, srv)
	return p
}

// serveTLS starts srv over TLS on loopback, to be closed when the test ends, and returns its
// https URL and the PEM certificate it serves.
func serveTLS(t testing.TB, srv *httptest.Server) (endpoint string, ca []byte) {
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// writeKey is the request context key of a write's index in the record, connKey that of the
// connection's name.
type (
	writeKey struct{}
	connKey  struct{}
)

// accepted names a new client connection and records when it was opened.
func (p *CountingProxy) accepted(ctx context.Context, conn net.Conn) context.Context {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opened++
	name := fmt.Sprintf("%s#%d", conn.RemoteAddr(), p.opened)
	p.conns[name] = time.Now()
	return context.WithValue(ctx, connKey{}, name)
}

// read records the path of a read of one object; lists, watches, subresources and discovery
// are left out.
func (p *CountingProxy) read(r *http.Request) {
	if r.URL.Query().Get("watch") != "" || !namedObjectPath(r.URL.Path) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads = append(p.reads, Read{Received: time.Now(), Path: r.URL.Path})
}

// namedObjectPath tells whether path names one object: /api/v1/[namespaces/NS/]RESOURCE/NAME
// or /apis/GROUP/VERSION/[namespaces/NS/]RESOURCE/NAME, and /api/v1/namespaces/NAME.
func namedObjectPath(path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) > 0 && parts[0] == "api":
		parts = parts[1:]
	case len(parts) > 0 && parts[0] == "apis":
		parts = parts[min(2, len(parts)-1):]
	default:
		return false
	}
	// parts is now VERSION/...
	if len(parts) < 3 {
		return false
	}
	rest := parts[1:]
	if rest[0] == "namespaces" && len(rest) >= 3 {
		rest = rest[2:]
	}
	return len(rest) == 2
}

// Read is a GET of one object that went through a CountingProxy.
type Read struct {
	// Received is when the proxy read the request.
	Received time.Time
	// Path is the request's.
	Path string
}

// Reads returns the reads of one object recorded so far, in the order they were received.
func (p *CountingProxy) Reads() []Read {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.reads)
}

// received records a write and returns its index.
func (p *CountingProxy) received(r *http.Request) int {
	conn, _ := r.Context().Value(connKey{}).(string)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writes = append(p.writes, Write{Received: time.Now(), Conn: conn, Method: r.Method, Path: r.URL.Path, Object: r.URL.Path})
	return len(p.writes) - 1
}

// answered records the API server's answer to a write.
func (p *CountingProxy) answered(resp *http.Response) error {
	i, ok := resp.Request.Context().Value(writeKey{}).(int)
	if !ok {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	name, rv := answerMeta(body)
	if resp.StatusCode >= 300 {
		rv = ""
	}
	if resp.Request.Method != http.MethodPost || namedObjectPath(resp.Request.URL.Path) {
		name = ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	w := &p.writes[i]
	w.Answered, w.Status, w.ResourceVersion = time.Now(), resp.StatusCode, rv
	if name != "" {
		w.Object = strings.TrimSuffix(w.Path, "/") + "/" + name
	}
	return nil
}

// Writes returns the writes recorded so far, in the order they were received.
func (p *CountingProxy) Writes() []Write {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.writes)
}

// ConnsOpenedBefore returns the client connections opened before t.
func (p *CountingProxy) ConnsOpenedBefore(t time.Time) map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]bool{}
	for conn, first := range p.conns {
		if first.Before(t) {
			out[conn] = true
		}
	}
	return out
}

// answerMeta reads the name and resourceVersion of the object in an answer (JSON, or protobuf
// for the Kubernetes kinds); for a Status, such as an AlreadyExists refusal, the name is the one
// its details give, and there is no resourceVersion. Both are "" when the answer holds neither.
func answerMeta(body []byte) (name, resourceVersion string) {
	var obj struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name            string `json:"name"`
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Details struct {
			Name string `json:"name"`
		} `json:"details"`
	}
	if json.Unmarshal(body, &obj) == nil {
		if obj.Kind == "Status" {
			return obj.Details.Name, ""
		}
		return obj.Metadata.Name, obj.Metadata.ResourceVersion
	}
	decoded, _, err := clientgoscheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
	if err != nil {
		return "", ""
	}
	if st, ok := decoded.(*metav1.Status); ok {
		if st.Details == nil {
			return "", ""
		}
		return st.Details.Name, ""
	}
	m, err := meta.Accessor(decoded)
	if err != nil {
		return "", ""
	}
	return m.GetName(), m.GetResourceVersion()
}
