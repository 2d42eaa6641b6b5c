package framework

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

// WatchLagProxy serves the API of c over TLS on loopback and passes every request on, except
// that the bodies of watches reach the client lag after c sent them: a client's cache of c
// then lags behind c itself, as it does behind a busy API server or a slow link, while its
// reads and writes are answered at once. It stops when the test ends. The control plane
// reaches c through it with RegisterEndpoint(ctx, host, name, url, ca, c.Token()).
func WatchLagProxy(t testing.TB, c *Cluster, lag time.Duration) (endpoint string, ca []byte) {
	t.Helper()
	proxy := reverseProxyTo(t, c)
	var bodies sync.WaitGroup
	stop := make(chan struct{})
	proxy.ModifyResponse = func(resp *http.Response) error {
		if w := resp.Request.URL.Query().Get("watch"); w == "true" || w == "1" {
			resp.Body = newLaggingBody(resp.Body, lag, stop, &bodies)
		}
		return nil
	}
	srv := httptest.NewUnstartedServer(proxy)
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(func() {
		close(stop)
		srv.CloseClientConnections()
		srv.Close()
		bodies.Wait()
	})
	return srv.URL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// reverseProxyTo returns a proxy to c's API that checks c's certificate and passes each
// chunk of a body on as soon as it arrives, so that watches stream through it.
func reverseProxyTo(t testing.TB, c *Cluster) *httputil.ReverseProxy {
	t.Helper()
	target, err := url.Parse(c.Server())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(c.CACert()) {
		t.Fatalf("the CA of %s holds no certificate", c.Name)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	proxy.FlushInterval = -1
	// Watches cut when the test ends are expected; they are not worth a line each.
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	return proxy
}

// chunk is what was read of a body, and when.
type chunk struct {
	data []byte
	at   time.Time
	err  error
}

// laggingBody hands out what its body gives, each part lag after it was read.
type laggingBody struct {
	body    io.ReadCloser
	lag     time.Duration
	chunks  chan chunk
	stop    <-chan struct{}
	pending []byte
	err     error
}

func newLaggingBody(body io.ReadCloser, lag time.Duration, stop <-chan struct{}, running *sync.WaitGroup) *laggingBody {
	b := &laggingBody{body: body, lag: lag, chunks: make(chan chunk, 4096), stop: stop}
	running.Go(b.readAll)
	return b
}

// readAll reads the body as it arrives, and stamps each part with the time it came.
func (b *laggingBody) readAll() {
	for {
		buf := make([]byte, 32*1024)
		n, err := b.body.Read(buf)
		c := chunk{data: buf[:n], at: time.Now(), err: err}
		select {
		case b.chunks <- c:
		case <-b.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (b *laggingBody) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		var c chunk
		select {
		case c = <-b.chunks:
		case <-b.stop:
			return 0, io.ErrUnexpectedEOF
		}
		select {
		case <-time.After(time.Until(c.at.Add(b.lag))):
		case <-b.stop:
			return 0, io.ErrUnexpectedEOF
		}
		b.pending, b.err = c.data, c.err
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

func (b *laggingBody) Close() error { return b.body.Close() }
