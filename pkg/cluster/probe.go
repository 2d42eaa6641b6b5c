package cluster

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The node labels that give a member's topology.
const (
	RegionLabel = "topology.kubernetes.io/region"
	ZoneLabel   = "topology.kubernetes.io/zone"
)

// Prober probes one member cluster.
type Prober struct {
	client kubernetes.Interface
}

// NewProber returns a prober for the member of cfg.
func NewProber(cfg *rest.Config) (*Prober, error) {
	client, err := kubernetes.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("failed to create the member client: %w", err)
	}
	return &Prober{client: client}, nil
}

// Probe asks the member's /readyz, or /healthz when it has no /readyz, whether it is healthy,
// giving up after timeout.
func (p *Prober) Probe(ctx context.Context, timeout time.Duration) Probe {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := p.get(ctx, "/readyz")
	if apierrors.IsNotFound(err) {
		body, err = p.get(ctx, "/healthz")
	}
	switch {
	case err == nil && strings.EqualFold(strings.TrimSpace(string(body)), "ok"):
		return Probe{Outcome: Healthy}
	case err == nil:
		return Probe{Outcome: Unhealthy, Detail: "the health endpoint did not answer ok"}
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return Probe{Outcome: Unhealthy, Detail: fmt.Sprintf("the health endpoint answered %d", status.Status().Code)}
	}
	return Probe{Outcome: Unreachable, Detail: describe(ctx, err, timeout)}
}

func (p *Prober) get(ctx context.Context, path string) ([]byte, error) {
	return p.client.Discovery().RESTClient().Get().AbsPath(path).DoRaw(ctx)
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
// timeout. Only node metadata is read, in pages.
func (p *Prober) Topology(ctx context.Context, timeout time.Duration) (Topology, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var t Topology
	var v version.Info
	body, err := p.get(ctx, "/version")
	if err == nil {
		err = json.Unmarshal(body, &v)
	}
	if err != nil {
		return t, fmt.Errorf("failed to read the member's version: %w", err)
	}
	t.Version = v.GitVersion
	regions := map[string]bool{}
	zones := map[string]bool{}
	opts := metav1.ListOptions{Limit: 500}
	for {
		nodes, err := p.client.CoreV1().Nodes().List(ctx, opts)
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
		opts.Continue = nodes.Continue
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
