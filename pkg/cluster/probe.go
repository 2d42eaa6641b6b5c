package cluster

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
)

// The node labels that give a member's topology.
const (
	RegionLabel = "topology.kubernetes.io/region"
	ZoneLabel   = "topology.kubernetes.io/zone"
)

// Prober probes one member cluster.
type Prober struct {
	rest rest.Interface
}

// The most the prober reads of a member's answers. A member is not trusted to answer briefly:
// without these bounds one answer of a broken or hostile member could take any amount of the
// control plane's memory.
const (
	// healthLimit bounds an answer of /readyz or /healthz, which is "ok" when healthy.
	healthLimit = 16 << 10
	// versionLimit bounds the answer of /version, a few hundred bytes of JSON.
	versionLimit = 64 << 10
	// nodePageSize is the number of nodes asked for in one page of the node list.
	nodePageSize = 100
	// nodePageLimit bounds one page of the node list, which holds node metadata only: over
	// 40 KiB per node.
	nodePageLimit = 4 << 20
	// errorAnswerLimit bounds an answer that is not 2xx, which the REST client reads whole to
	// make an API error of it.
	errorAnswerLimit = 64 << 10
)

// metadataListAccept asks for a list of object metadata only, or else the plain list.
const metadataListAccept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"

// NewProber returns a prober for the member of cfg.
func NewProber(cfg *rest.Config) (*Prober, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.WrapTransport = transport.Wrappers(cfg.WrapTransport, func(rt http.RoundTripper) http.RoundTripper {
		return errorAnswerLimiter{next: rt}
	})
	client, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create the member client: %w", err)
	}
	return &Prober{rest: client.RESTClient()}, nil
}

// Probe asks the member's /readyz, or /healthz when it has no /readyz, whether it is healthy,
// giving up after timeout. An answer too large to be "ok" is Unhealthy.
func (p *Prober) Probe(ctx context.Context, timeout time.Duration) Probe {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := p.getBounded(ctx, "/readyz", healthLimit)
	if apierrors.IsNotFound(err) {
		body, err = p.getBounded(ctx, "/healthz", healthLimit)
	}
	switch {
	case err == nil && strings.EqualFold(strings.TrimSpace(string(body)), "ok"):
		return Probe{Outcome: Healthy}
	case err == nil:
		return Probe{Outcome: Unhealthy, Detail: "the health endpoint did not answer ok"}
	}
	var (
		tooLarge *tooLargeError
		status   apierrors.APIStatus
	)
	if errors.As(err, &tooLarge) {
		return Probe{Outcome: Unhealthy, Detail: tooLarge.Error()}
	}
	if errors.As(err, &status) {
		return Probe{Outcome: Unhealthy, Detail: fmt.Sprintf("the health endpoint answered %d", status.Status().Code)}
	}
	return Probe{Outcome: Unreachable, Detail: describe(ctx, err, timeout)}
}

// getBounded GETs path from the member and returns the answer, reading at most limit bytes of
// it: a longer answer is a *tooLargeError. An answer that is not 2xx is the API error the REST
// client makes of it (apierrors.IsNotFound and the like work on it), read from at most
// errorAnswerLimit bytes.
func (p *Prober) getBounded(ctx context.Context, path string, limit int64) ([]byte, error) {
	return readBounded(ctx, p.rest.Get().AbsPath(path), limit)
}

// readBounded sends req and returns the answer, as getBounded does.
func readBounded(ctx context.Context, req *rest.Request, limit int64) ([]byte, error) {
	path := req.URL().Path
	body, err := req.Stream(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = body.Close() }()
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read the answer to %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, &tooLargeError{path: path, limit: limit}
	}
	return b, nil
}

// tooLargeError is a member's answer longer than the prober reads of it.
type tooLargeError struct {
	path  string
	limit int64
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("the answer to %s is too large: over %d bytes", e.path, e.limit)
}

// errorAnswerLimiter reads the body of an answer that is not 2xx, up to errorAnswerLimit bytes,
// before the REST client reads it whole; a longer one is a *tooLargeError.
type errorAnswerLimiter struct {
	next http.RoundTripper
}

// RoundTrip sends the request and bounds the answer's body when it is not 2xx.
func (l errorAnswerLimiter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil || (resp.StatusCode >= 200 && resp.StatusCode < 300) {
		return resp, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, errorAnswerLimit+1))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("failed to read the answer to %s: %w", req.URL.Path, err)
	}
	if len(b) > errorAnswerLimit {
		return nil, &tooLargeError{path: req.URL.Path, limit: errorAnswerLimit}
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// Topology is what a probe learns of a healthy member besides its health.
type Topology struct {
	// Version is the member's Kubernetes version (v1.37.2).
	Version string
	// Region is the region of the member's nodes, when they name one.
	Region *string
	// Zones are the distinct zones of the member's nodes, sorted.
	Zones []string
}

// Topology reads the member's version and its nodes' region and zones, giving up after
// timeout. Only node metadata is read, in pages; each answer is bounded.
func (p *Prober) Topology(ctx context.Context, timeout time.Duration) (Topology, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var t Topology
	var v version.Info
	body, err := p.getBounded(ctx, "/version", versionLimit)
	if err == nil {
		err = json.Unmarshal(body, &v)
	}
	if err != nil {
		return t, fmt.Errorf("failed to read the member's version: %w", err)
	}
	t.Version = v.GitVersion
	regions := map[string]bool{}
	zones := map[string]bool{}
	continueToken := ""
	for {
		req := p.rest.Get().AbsPath("/api/v1/nodes").Param("limit", strconv.Itoa(nodePageSize)).SetHeader("Accept", metadataListAccept)
		if continueToken != "" {
			req = req.Param("continue", continueToken)
		}
		body, err := readBounded(ctx, req, nodePageLimit)
		var nodes metav1.PartialObjectMetadataList
		if err == nil {
			err = json.Unmarshal(body, &nodes)
		}
		if err != nil {
			return t, fmt.Errorf("failed to list the member's nodes: %w", err)
		}
		for _, n := range nodes.Items {
			if r := n.Labels[RegionLabel]; r != "" {
				regions[r] = true
			}
			if z := n.Labels[ZoneLabel]; z != "" {
				zones[z] = true
			}
		}
		if nodes.Continue == "" {
			break
		}
		continueToken = nodes.Continue
	}
	for z := range zones {
		t.Zones = append(t.Zones, z)
	}
	slices.Sort(t.Zones)
	if len(regions) > 0 {
		names := make([]string, 0, len(regions))
		for r := range regions {
			names = append(names, r)
		}
		slices.Sort(names)
		// Nodes of one cluster share a region; should they not, the first name is kept.
		t.Region = &names[0]
	}
	return t, nil
}

// describe says briefly and stably why a member did not answer, for the condition message:
// the same cause gives the same words from one probe to the next, so that a member that stays
// down is not written again and again.
func describe(ctx context.Context, err error, timeout time.Duration) string {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		netErr           net.Error
		uerr             *url.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, new(*net.DNSError)):
		return "the host name does not resolve"
	case errors.As(err, &unknownAuthority):
		return unknownAuthority.Error()
	case errors.As(err, &hostname):
		return hostname.Error()
	case errors.As(err, &invalid):
		return invalid.Error()
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no answer within %s", timeout)
	case errors.As(err, &uerr):
		return uerr.Err.Error()
	}
	return err.Error()
}
