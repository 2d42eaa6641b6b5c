package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// The keys of a member's credentials Secret.
const (
	// TokenKey holds the bearer token.
	TokenKey = "token"
	// CACertKey holds the member's CA bundle, used when the KubeFedCluster has no caBundle.
	CACertKey = "ca.crt"
)

// ErrConfigMalformed marks registrations from which no client can be built: a bad endpoint or
// proxy URL, a missing token, or an unreadable CA bundle. Retrying does not help.
var ErrConfigMalformed = errors.New("cluster configuration is malformed")

// RESTConfig returns the client configuration of a member cluster from its KubeFedCluster and
// its credentials Secret.
//
// The endpoint is an https URL or a host[:port] (https is then used); any other scheme is
// ErrConfigMalformed. The CA is spec.caBundle,
// else the Secret's ca.crt, else the system roots. disabledTLSValidations are implemented as
// named: "*" turns verification off; SubjectName accepts a certificate issued for another
// host, and ValidityPeriod one outside its validity period, but both still verify the chain
// against the CA, so neither is ever widened to no verification at all. spec.proxyURL is used
// as the proxy. The token never appears in errors.
func RESTConfig(c *corev1beta1.KubeFedCluster, secret *corev1.Secret) (*rest.Config, error) {
	host, err := endpointURL(c.Spec.APIEndpoint)
	if err != nil {
		return nil, err
	}
	if secret == nil {
		return nil, fmt.Errorf("%w: the credentials Secret %s is missing", ErrConfigMalformed, c.Spec.SecretRef.Name)
	}
	token := strings.TrimSpace(string(secret.Data[TokenKey]))
	if token == "" {
		return nil, fmt.Errorf("%w: Secret %s has no %q key", ErrConfigMalformed, secret.Name, TokenKey)
	}
	ca := c.Spec.CABundle
	if len(ca) == 0 {
		ca = secret.Data[CACertKey]
	}
	var proxy func(*http.Request) (*url.URL, error)
	if c.Spec.ProxyURL != "" {
		u, err := url.Parse(c.Spec.ProxyURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: proxyURL %q is not a URL", ErrConfigMalformed, c.Spec.ProxyURL)
		}
		proxy = http.ProxyURL(u)
	}

	cfg := &rest.Config{Host: host.String(), BearerToken: token, Proxy: proxy}
	disabled := c.Spec.DisabledTLSValidations
	switch {
	case slices.Contains(disabled, corev1beta1.TLSAll):
		// The user asked for no verification at all; a CA would make client-go refuse it.
		cfg.Insecure = true
	case len(disabled) == 0:
		cfg.CAData = ca
	default:
		roots, err := rootPool(ca)
		if err != nil {
			return nil, err
		}
		skipName := slices.Contains(disabled, corev1beta1.TLSSubjectName)
		skipTime := slices.Contains(disabled, corev1beta1.TLSValidityPeriod)
		cfg.Proxy = nil
		cfg.Transport = &http.Transport{
			Proxy:               proxy,
			DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 10 * time.Second,
			IdleConnTimeout:     90 * time.Second,
			MaxIdleConnsPerHost: 25,
			TLSClientConfig: &tls.Config{
				MinVersion: tls.VersionTLS12,
				// Verification is not skipped: VerifyConnection does it, without the checks the
				// registration disables.
				InsecureSkipVerify: true, //nolint:gosec // VerifyConnection verifies the chain; see above.
				VerifyConnection:   verifier(roots, host.Hostname(), skipName, skipTime, time.Now),
			},
		}
	}
	return cfg, nil
}

// endpointURL parses apiEndpoint: an https URL, or a host[:port], which means https. Every
// other scheme, http included, is refused, so that the member's bearer token never goes out
// unencrypted, not even for a registration stored before the API refused such endpoints.
func endpointURL(endpoint string) (*url.URL, error) {
	e := strings.TrimSpace(endpoint)
	if !strings.Contains(e, "://") {
		e = "https://" + e
	}
	u, err := url.Parse(e)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: apiEndpoint %q is not an https URL or host[:port]", ErrConfigMalformed, endpoint)
	case u.Scheme != "https": // url.Parse lower-cases the scheme.
		return nil, fmt.Errorf("%w: apiEndpoint %q has scheme %s; only https is accepted, so that the token is never sent unencrypted", ErrConfigMalformed, u.Redacted(), u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("%w: apiEndpoint %q is not an https URL or host[:port]", ErrConfigMalformed, endpoint)
	}
	return u, nil
}

// rootPool returns the pool of the PEM bundle, or the system roots when there is none.
func rootPool(ca []byte) (*x509.CertPool, error) {
	if len(ca) == 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("failed to load the system roots: %w", err)
		}
		return pool, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%w: the CA bundle holds no PEM certificate", ErrConfigMalformed)
	}
	return pool, nil
}

// verifier verifies the server's chain against roots, checking the host name unless skipName
// and the validity period unless skipTime (then the chain is checked at a moment within the
// server certificate's validity).
func verifier(roots *x509.CertPool, hostname string, skipName, skipTime bool, now func() time.Time) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the server presented no certificate")
		}
		leaf := cs.PeerCertificates[0]
		opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), CurrentTime: now()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		if !skipName {
			opts.DNSName = hostname
		}
		if skipTime {
			switch {
			case opts.CurrentTime.Before(leaf.NotBefore):
				opts.CurrentTime = leaf.NotBefore
			case opts.CurrentTime.After(leaf.NotAfter):
				opts.CurrentTime = leaf.NotAfter
			}
		}
		if _, err := leaf.Verify(opts); err != nil {
			return fmt.Errorf("failed to verify the server certificate: %w", err)
		}
		return nil
	}
}
