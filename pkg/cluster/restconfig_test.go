package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// testCA is a certificate authority for the tests' servers.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// serve starts a TLS server whose certificate, signed by ca, names names and is valid from
// notBefore to notAfter. It answers "ok" when the request carries the bearer token "secret".
func (ca testCA) serve(t *testing.T, names []string, ips []net.IP, notBefore, notAfter time.Time) *httptest.Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "server"},
		NotBefore: notBefore, NotAfter: notAfter, DNSNames: names, IPAddresses: ips,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	// Refused handshakes are what several cases test; they need not be logged.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func registration(endpoint string, ca []byte, disabled ...corev1beta1.TLSValidation) *corev1beta1.KubeFedCluster {
	return &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "member", Namespace: "kube-federation-system"},
		Spec: corev1beta1.KubeFedClusterSpec{
			APIEndpoint: endpoint, CABundle: ca, SecretRef: corev1beta1.LocalSecretReference{Name: "member-token"},
			DisabledTLSValidations: disabled,
		},
	}
}

func tokenSecret(extra map[string][]byte) *corev1.Secret {
	data := map[string][]byte{TokenKey: []byte("secret\n")}
	for k, v := range extra {
		data[k] = v
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "member-token"}, Data: data}
}

// get sends GET / with the configuration and returns the error, if any.
func get(t *testing.T, cfg *rest.Config) error {
	t.Helper()
	cfg.Timeout = 5 * time.Second
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	resp, err := client.Get(cfg.Host + "/")
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

func TestRESTConfigTLSValidations(t *testing.T) {
	ca, otherCA := newCA(t), newCA(t)
	now := time.Now()
	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	good := ca.serve(t, nil, loopback, now.Add(-time.Hour), now.Add(time.Hour))
	wrongName := ca.serve(t, []string{"elsewhere.example"}, nil, now.Add(-time.Hour), now.Add(time.Hour))
	expired := ca.serve(t, nil, loopback, now.Add(-2*time.Hour), now.Add(-time.Hour))
	cases := []struct {
		name     string
		server   *httptest.Server
		ca       []byte
		disabled []corev1beta1.TLSValidation
		wantErr  string
	}{
		{name: "a valid certificate is accepted", server: good, ca: ca.pem},
		{name: "a certificate of an unknown CA is refused", server: good, ca: otherCA.pem, wantErr: "unknown authority"},
		{name: "another host's certificate is refused", server: wrongName, ca: ca.pem, wantErr: "127.0.0.1"},
		{name: "SubjectName accepts another host's certificate", server: wrongName, ca: ca.pem, disabled: []corev1beta1.TLSValidation{corev1beta1.TLSSubjectName}},
		{name: "SubjectName still refuses an unknown CA", server: wrongName, ca: otherCA.pem, disabled: []corev1beta1.TLSValidation{corev1beta1.TLSSubjectName}, wantErr: "unknown authority"},
		{name: "SubjectName still refuses an expired certificate", server: expired, ca: ca.pem, disabled: []corev1beta1.TLSValidation{corev1beta1.TLSSubjectName}, wantErr: "expired"},
		{name: "an expired certificate is refused", server: expired, ca: ca.pem, wantErr: "expired"},
		{name: "ValidityPeriod accepts an expired certificate", server: expired, ca: ca.pem, disabled: []corev1beta1.TLSValidation{corev1beta1.TLSValidityPeriod}},
		{name: "ValidityPeriod still refuses another host's certificate", server: wrongName, ca: ca.pem, disabled: []corev1beta1.TLSValidation{corev1beta1.TLSValidityPeriod}, wantErr: "127.0.0.1"},
		{name: "both together accept an expired certificate of another host", server: wrongName, ca: ca.pem, disabled: []corev1beta1.TLSValidation{corev1beta1.TLSSubjectName, corev1beta1.TLSValidityPeriod}},
		{name: "* accepts an unknown CA", server: good, ca: otherCA.pem, disabled: []corev1beta1.TLSValidation{corev1beta1.TLSAll}},
		{name: "* works without any CA", server: expired, disabled: []corev1beta1.TLSValidation{corev1beta1.TLSAll}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := RESTConfig(registration(tc.server.URL, tc.ca, tc.disabled...), tokenSecret(nil))
			if err != nil {
				t.Fatalf("RESTConfig() error = %v", err)
			}
			err = get(t, cfg)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("request failed: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestRESTConfigTakesTheCAFromTheSecretAndAddsTheScheme(t *testing.T) {
	ca := newCA(t)
	srv := ca.serve(t, nil, []net.IP{net.IPv4(127, 0, 0, 1)}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	hostPort := strings.TrimPrefix(srv.URL, "https://")
	cfg, err := RESTConfig(registration(hostPort, nil), tokenSecret(map[string][]byte{CACertKey: ca.pem}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://"+hostPort {
		t.Errorf("Host = %q, want https://%s", cfg.Host, hostPort)
	}
	if err := get(t, cfg); err != nil {
		t.Errorf("request failed: %v", err)
	}
}

func TestRESTConfigGoesThroughTheProxy(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	target := ca.serve(t, []string{"elsewhere.example"}, []net.IP{net.IPv4(127, 0, 0, 1)}, now.Add(-time.Hour), now.Add(time.Hour))
	var tunnels atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		upstream, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			_ = upstream.Close()
			return
		}
		if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			_ = upstream.Close()
			_ = conn.Close()
			return
		}
		tunnels.Add(1)
		go func() { _, _ = io.Copy(upstream, conn); _ = upstream.Close() }()
		go func() { _, _ = io.Copy(conn, upstream); _ = conn.Close() }()
	}))
	t.Cleanup(proxy.Close)

	for _, disabled := range [][]corev1beta1.TLSValidation{nil, {corev1beta1.TLSSubjectName}} {
		before := tunnels.Load()
		reg := registration(target.URL, ca.pem, disabled...)
		reg.Spec.ProxyURL = proxy.URL
		cfg, err := RESTConfig(reg, tokenSecret(nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := get(t, cfg); err != nil {
			t.Errorf("disabled %v: request through the proxy failed: %v", disabled, err)
		}
		if tunnels.Load() == before {
			t.Errorf("disabled %v: the request did not go through the proxy", disabled)
		}
	}
}

func TestRESTConfigRefusesMalformedRegistrations(t *testing.T) {
	cases := []struct {
		name   string
		reg    *corev1beta1.KubeFedCluster
		secret *corev1.Secret
	}{
		{name: "no Secret", reg: registration("https://127.0.0.1:6443", nil)},
		{name: "no token", reg: registration("https://127.0.0.1:6443", nil), secret: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "member-token"}}},
		{name: "bad endpoint", reg: registration("not a url", nil), secret: tokenSecret(nil)},
		{name: "plain http endpoint", reg: registration("http://127.0.0.1:6443", nil), secret: tokenSecret(nil)},
		{name: "ftp endpoint", reg: registration("ftp://host", nil), secret: tokenSecret(nil)},
		{name: "plain http endpoint with every TLS check off", reg: registration("http://127.0.0.1:6443", nil, corev1beta1.TLSAll), secret: tokenSecret(nil)},
		{name: "bad CA", reg: registration("https://127.0.0.1:6443", []byte("not pem"), corev1beta1.TLSSubjectName), secret: tokenSecret(nil)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RESTConfig(tc.reg, tc.secret)
			if !errors.Is(err, ErrConfigMalformed) {
				t.Fatalf("got %v, want ErrConfigMalformed", err)
			}
			if strings.Contains(err.Error(), "secret\n") || strings.Contains(err.Error(), "Bearer") {
				t.Errorf("error %q shows the credentials", err)
			}
		})
	}
}

func TestEndpointURL(t *testing.T) {
	cases := []struct {
		name     string
		endpoint string
		want     string
		wantErr  string
	}{
		{name: "an https URL is kept", endpoint: "https://member.example:6443", want: "https://member.example:6443"},
		{name: "an https URL with a path is kept", endpoint: "https://member.example/k8s/clusters/c-1", want: "https://member.example/k8s/clusters/c-1"},
		{name: "the scheme is not case sensitive", endpoint: "HTTPS://member.example", want: "https://member.example"},
		{name: "a host:port means https", endpoint: "member.example:6443", want: "https://member.example:6443"},
		{name: "a bare IP means https", endpoint: "10.0.0.1", want: "https://10.0.0.1"},
		{name: "an IPv6 address with a port means https", endpoint: "[fd00::1]:6443", want: "https://[fd00::1]:6443"},
		{name: "spaces around are trimmed", endpoint: " https://member.example ", want: "https://member.example"},
		{name: "http would send the token in the clear", endpoint: "http://member.example:6443", wantErr: `apiEndpoint "http://member.example:6443" has scheme http; only https is accepted`},
		{name: "HTTP in capitals too", endpoint: "HTTP://member.example", wantErr: "has scheme http; only https is accepted"},
		{name: "ftp is refused", endpoint: "ftp://member.example", wantErr: "has scheme ftp; only https is accepted"},
		{name: "a unix socket is refused", endpoint: "unix:///run/kube-apiserver.sock", wantErr: "has scheme unix; only https is accepted"},
		{name: "a password in the URL is not repeated", endpoint: "http://user:hunter2@member.example", wantErr: `"http://user:xxxxx@member.example" has scheme http`}, //nolint:gosec // A made-up password, which the error must not show.
		{name: "no host", endpoint: "https://", wantErr: "is not an https URL or host[:port]"},
		{name: "empty", endpoint: "", wantErr: "is not an https URL or host[:port]"},
		{name: "not a URL", endpoint: "not a url", wantErr: "is not an https URL or host[:port]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := endpointURL(tc.endpoint)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrConfigMalformed) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("endpointURL(%q) error = %v, want ErrConfigMalformed containing %q", tc.endpoint, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error %q shows the URL's password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("endpointURL(%q) error = %v", tc.endpoint, err)
			}
			if diff := cmp.Diff(tc.want, got.String()); diff != "" {
				t.Errorf("endpointURL(%q) (-want +got):\n%s", tc.endpoint, diff)
			}
		})
	}
}

func TestRESTConfigSendsNothingToAPlainHTTPEndpoint(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	for _, disabled := range [][]corev1beta1.TLSValidation{nil, {corev1beta1.TLSSubjectName}, {corev1beta1.TLSAll}} {
		cfg, err := RESTConfig(registration(srv.URL, nil, disabled...), tokenSecret(nil))
		if !errors.Is(err, ErrConfigMalformed) {
			t.Errorf("disabled %v: RESTConfig(%s) error = %v, want ErrConfigMalformed", disabled, srv.URL, err)
		}
		if err != nil {
			continue
		}
		// A configuration that should not exist is used as the health controller would.
		p, err := NewProber(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_ = p.Probe(t.Context(), 5*time.Second)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the plain-HTTP server received %d requests, want none", n)
	}
}
