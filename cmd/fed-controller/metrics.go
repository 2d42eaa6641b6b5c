package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The names of the serving certificate and key in --metrics-cert-dir, as in a
// kubernetes.io/tls Secret.
const (
	metricsCertName = "tls.crt"
	metricsKeyName  = "tls.key"
)

// metricsFlags are the flags of the metrics endpoint and of pprof.
type metricsFlags struct {
	bindAddress  string
	secure       bool
	certDir      string
	pprofAddress string
}

// bind registers the flags in fs.
func (m *metricsFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&m.bindAddress, "metrics-bind-address", ":8443", "address of the Prometheus metrics endpoint (/metrics); \"0\" turns it off")
	fs.BoolVar(&m.secure, "metrics-secure", true, "serve /metrics over HTTPS, only to requests whose bearer token the host cluster authenticates (TokenReview) and allows to get the non-resource URL /metrics (SubjectAccessReview); false serves plain HTTP to anyone, for local labs only")
	fs.StringVar(&m.certDir, "metrics-cert-dir", "", "directory holding the metrics endpoint's serving certificate, tls.crt and tls.key, reloaded when they change; empty means a self-signed certificate")
	fs.StringVar(&m.pprofAddress, "pprof-bind-address", "0", "loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT) of the Go profiler, /debug/pprof; \"0\" turns it off")
}

// validate refuses a pprof address that is not on loopback, and a certificate directory
// that is not used or does not hold a certificate and key.
func (m *metricsFlags) validate() error {
	if err := checkLoopback(m.pprofAddress); err != nil {
		return fmt.Errorf("--pprof-bind-address %q is refused: %w", m.pprofAddress, err)
	}
	if m.certDir == "" {
		return nil
	}
	if !m.secure {
		return errors.New("--metrics-cert-dir needs --metrics-secure")
	}
	for _, name := range []string{metricsCertName, metricsKeyName} {
		if _, err := os.Stat(filepath.Join(m.certDir, name)); err != nil {
			return fmt.Errorf("failed to find the metrics certificate of --metrics-cert-dir: %w", err)
		}
	}
	return nil
}

// checkLoopback returns an error unless addr is off ("0" or empty) or a loopback host and a
// port.
func checkLoopback(addr string) error {
	if addr == "0" || addr == "" {
		return nil
	}
	const want = "pprof serves only on a loopback address, 127.0.0.1:PORT, [::1]:PORT or localhost:PORT"
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: %w", want, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%s: port %q is not a number from 1 to 65535", want, port)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s, not %q", want, host)
	}
	return nil
}

// options returns the manager's metrics server options and its pprof address.
func (m *metricsFlags) options() (metricsserver.Options, string) {
	o := metricsserver.Options{BindAddress: m.bindAddress}
	if !m.secure {
		return o, m.pprofAddress
	}
	o.SecureServing = true
	o.FilterProvider = filters.WithAuthenticationAndAuthorization
	// HTTP/1.1 only: HTTP/2's stream handling has been open to resets that exhaust a server
	// (CVE-2023-44487), and a scrape gains nothing from it.
	o.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }}
	if m.certDir != "" {
		o.CertDir, o.CertName, o.KeyName = m.certDir, metricsCertName, metricsKeyName
	}
	return o, m.pprofAddress
}
