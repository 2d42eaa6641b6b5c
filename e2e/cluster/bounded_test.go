package cluster_test

import (
	"bufio"
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
)

const (
	// hugeAnswer is the size of the answers that are too large.
	hugeAnswer = 64 << 20
	// readBudget bounds what a member may make the prober read or buffer of one huge answer:
	// the prober's own limit, plus what the connection buffers before the prober hangs up.
	readBudget = 16 << 20
	// memoryBudget bounds the growth of fed-controller's peak resident memory.
	memoryBudget = 32 << 20
)

// junkMember is a TLS server on 127.0.0.1 that answers like a small member cluster, except on
// one path, whose answer has a status and a body of hugeAnswer bytes.
type junkMember struct {
	srv    *httptest.Server
	path   string
	status int
	// written counts the bytes of huge answers that the server managed to write before the
	// client hung up; served counts the huge answers that ended, either way.
	written, served atomic.Int64
	// nodesAccept is the Accept header of the last node list request.
	nodesAccept atomic.Value
}

// newJunkMember starts a junkMember whose answer to path is huge, with the given status.
func newJunkMember(t *testing.T, path string, status int) *junkMember {
	t.Helper()
	m := &junkMember{path: path, status: status}
	m.nodesAccept.Store("")
	m.srv = httptest.NewUnstartedServer(http.HandlerFunc(m.serve))
	// Writes to a client that hung up fail; that is what the test wants, not log noise.
	m.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	m.srv.StartTLS()
	t.Cleanup(m.srv.Close)
	return m
}

func (m *junkMember) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/v1/nodes" {
		m.nodesAccept.Store(r.Header.Get("Accept"))
	}
	if r.URL.Path == m.path {
		defer m.served.Add(1)
		if m.path != "/readyz" && m.path != "/healthz" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(m.status)
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for n := 0; n < hugeAnswer; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			m.written.Add(int64(len(chunk)))
		}
		return
	}
	switch r.URL.Path {
	case "/readyz", "/healthz":
		_, _ = io.WriteString(w, "ok")
	case "/version":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"major":"1","minor":"37","gitVersion":"v1.37.2"}`)
	case "/api/v1/nodes":
		w.Header().Set("Content-Type", "application/json")
		node := `{"metadata":{"name":"n1","labels":{"topology.kubernetes.io/region":"junk","topology.kubernetes.io/zone":"junk-a"}}}`
		if strings.Contains(r.Header.Get("Accept"), "as=PartialObjectMetadataList") {
			_, _ = io.WriteString(w, `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{},"items":[`+node+`]}`)
		} else {
			_, _ = io.WriteString(w, `{"kind":"NodeList","apiVersion":"v1","metadata":{},"items":[`+node+`]}`)
		}
	default:
		http.NotFound(w, r)
	}
}

// caBundle is the PEM of the server's certificate, which signs itself.
func (m *junkMember) caBundle() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: m.srv.Certificate().Raw})
}

// prober builds a prober from a registration of the member with its CA.
func (m *junkMember) prober(t *testing.T) *cluster.Prober {
	t.Helper()
	reg := endpointRegistration(corev1beta1.DefaultNamespace, "junk", m.srv.URL, m.caBundle())
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "junk-token"}, Data: map[string][]byte{cluster.TokenKey: []byte("junk")}}
	cfg, err := cluster.RESTConfig(reg, secret)
	if err != nil {
		t.Fatalf("RESTConfig() error = %v", err)
	}
	p, err := cluster.NewProber(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkWritten waits until the server's huge answers have ended and checks how much of them
// the client took.
func (m *junkMember) checkWritten(t *testing.T, answers int64) {
	t.Helper()
	NewWithT(t).Eventually(m.served.Load).WithTimeout(20 * time.Second).Should(BeNumerically(">=", answers))
	written := m.written.Load()
	t.Logf("the server wrote %.1f MiB of %d answers of %d MiB to %s before the prober hung up", float64(written)/(1<<20), answers, hugeAnswer>>20, m.path)
	if written > answers*readBudget {
		t.Errorf("the prober read %d bytes of %d answers from %s, want at most %d per answer", written, answers, m.path, readBudget)
	}
}

// TestProbeReadsAreBounded checks that no answer of a member makes the prober read or hold it
// whole: a /readyz answer of 64 MiB, ok or not, is an Unhealthy probe that says it is too
// large, and so is the Topology of a member whose /version or node list is 64 MiB; a
// fed-controller probing such members keeps its memory.
func TestProbeReadsAreBounded(t *testing.T) {
	t.Run("small answers are read whole, and the node list asks for metadata only", func(t *testing.T) {
		m := newJunkMember(t, "/unused", http.StatusOK)
		p := m.prober(t)
		if got := p.Probe(t.Context(), 10*time.Second); got != (cluster.Probe{Outcome: cluster.Healthy}) {
			t.Fatalf("Probe() = %+v, want Healthy", got)
		}
		topo, err := p.Topology(t.Context(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		want := cluster.Topology{Version: "v1.37.2", Region: ptr.To("junk"), Zones: []string{"junk-a"}}
		if diff := cmp.Diff(want, topo); diff != "" {
			t.Errorf("Topology() (-want +got):\n%s", diff)
		}
		if accept := m.nodesAccept.Load().(string); !strings.Contains(accept, "as=PartialObjectMetadataList") {
			t.Errorf("the node list was asked for with Accept %q, want PartialObjectMetadataList", accept)
		}
	})

	for _, status := range []int{http.StatusOK, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprintf("a /readyz answer of 64 MiB with status %d", status), func(t *testing.T) {
			m := newJunkMember(t, "/readyz", status)
			got := m.prober(t).Probe(t.Context(), 10*time.Second)
			if got.Outcome != cluster.Unhealthy || !strings.Contains(got.Detail, "too large") {
				t.Errorf("Probe() = %+v, want Unhealthy saying the answer is too large", got)
			}
			m.checkWritten(t, 1)
		})
	}

	for _, path := range []string{"/version", "/api/v1/nodes"} {
		t.Run("a "+path+" answer of 64 MiB", func(t *testing.T) {
			m := newJunkMember(t, path, http.StatusOK)
			p := m.prober(t)
			if got := p.Probe(t.Context(), 10*time.Second); got != (cluster.Probe{Outcome: cluster.Healthy}) {
				t.Fatalf("Probe() = %+v, want Healthy", got)
			}
			_, err := p.Topology(t.Context(), 10*time.Second)
			if err == nil || !strings.Contains(err.Error(), "too large") {
				t.Errorf("Topology() error = %v, want one saying the answer is too large", err)
			}
			m.checkWritten(t, 1)
		})
	}

	t.Run("fed-controller's memory stays bounded", func(t *testing.T) {
		const namespace = "bounded-reads"
		c := controlPlane(t, namespace, time.Second, 10*time.Second)
		g := NewWithT(t)
		ctrl := startFedController(t, namespace)
		g.Eventually(func() error { _, err := ctrl.ReadMetric("go_goroutines", nil); return err }).
			WithTimeout(30 * time.Second).Should(Succeed())
		time.Sleep(2 * time.Second)
		hwmBefore, rssBefore := memory(t, ctrl.Pid())

		members := map[string]*junkMember{
			"huge-readyz":  newJunkMember(t, "/readyz", http.StatusOK),
			"huge-version": newJunkMember(t, "/version", http.StatusOK),
			"huge-nodes":   newJunkMember(t, "/api/v1/nodes", http.StatusOK),
		}
		for name, m := range members {
			tokenSecret(t, c, namespace, name, "junk")
			g.Expect(c.Create(t.Context(), endpointRegistration(namespace, name, m.srv.URL, m.caBundle()))).To(Succeed())
		}
		// Each huge answer is asked for again at every probe: /readyz always, the topology
		// while the member's version is unknown.
		for _, m := range members {
			g.Eventually(m.served.Load).WithTimeout(60 * time.Second).Should(BeNumerically(">=", 5))
		}
		hwmAfter, rssAfter := memory(t, ctrl.Pid())
		t.Logf("fed-controller VmHWM %.1f -> %.1f MiB, VmRSS %.1f -> %.1f MiB, after %d, %d and %d huge answers",
			mib(hwmBefore), mib(hwmAfter), mib(rssBefore), mib(rssAfter),
			members["huge-readyz"].served.Load(), members["huge-version"].served.Load(), members["huge-nodes"].served.Load())
		if grown := hwmAfter - hwmBefore; grown > memoryBudget {
			t.Errorf("fed-controller's peak resident memory grew by %.1f MiB, want at most %d MiB", mib(grown), memoryBudget>>20)
		}
		g.Eventually(func() string { return describeConditions(conditionsOf(t, c, namespace, "huge-readyz")) }).
			WithTimeout(10 * time.Second).Should(ContainSubstring("too large"))
	})
}

// memory returns the peak and current resident memory of a process, in bytes.
func memory(t *testing.T, pid int) (hwm, rss int64) {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) != 3 || fields[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "VmHWM:":
			hwm = kb << 10
		case "VmRSS:":
			rss = kb << 10
		}
	}
	if err := s.Err(); err != nil || hwm == 0 || rss == 0 {
		t.Fatalf("failed to read VmHWM and VmRSS of process %d: %v", pid, err)
	}
	return hwm, rss
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
