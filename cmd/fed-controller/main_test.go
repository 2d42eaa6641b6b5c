package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
)

var lab *framework.Lab

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithLab(m, framework.Options{Members: []string{"m1"}}, &lab))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// syncBuffer is a log sink that the controller writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url) //nolint:gosec,noctx // The test reads its own controller's endpoints on loopback.
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFedControllerRunsAgainstALab runs fed-controller as its main does, against the lab host
// with the member m1 registered, and checks what it serves and writes.
func TestFedControllerRunsAgainstALab(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	c, err := lab.Host().InstallAPI(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	m1 := lab.Cluster("m1")
	ns := corev1beta1.DefaultNamespace
	g.Expect(c.Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "m1-token", Namespace: ns},
		Data:       map[string][]byte{cluster.TokenKey: []byte(m1.Token()), cluster.CACertKey: m1.CACert()},
	})).To(Succeed())
	g.Expect(c.Create(t.Context(), &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "m1", Namespace: ns},
		Spec:       corev1beta1.KubeFedClusterSpec{APIEndpoint: m1.Server(), SecretRef: corev1beta1.LocalSecretReference{Name: "m1-token"}},
	})).To(Succeed())

	metricsAddr, probeAddr := freeAddr(t), freeAddr(t)
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{
			"--kubeconfig", lab.KubeconfigPath(), "--metrics-bind-address", metricsAddr,
			"--health-probe-bind-address", probeAddr, "--leader-elect",
		}, io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run() returned %v after its context ended", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("run() did not return after its context ended")
		}
	})

	// It creates the KubeFedConfig with KubeFed's defaults.
	g.Eventually(func() error {
		return c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "kubefed"}, &corev1beta1.KubeFedConfig{})
	}).WithTimeout(30 * time.Second).Should(Succeed())
	kfcfg := &corev1beta1.KubeFedConfig{}
	g.Expect(c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "kubefed"}, kfcfg)).To(Succeed())
	g.Expect(kfcfg.Spec.ClusterHealthCheck.Period.Duration).To(Equal(10 * time.Second))
	g.Expect(*kfcfg.Spec.SyncController.AdoptResources).To(Equal(corev1beta1.AdoptResourcesEnabled))

	// The member becomes Ready, with its version, using the Secret's ca.crt.
	g.Eventually(func() corev1beta1.KubeFedClusterStatus {
		kfc := &corev1beta1.KubeFedCluster{}
		_ = c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "m1"}, kfc)
		return kfc.Status
	}).WithTimeout(30 * time.Second).Should(And(
		WithTransform(cluster.IsReady, BeTrue()),
		HaveField("KubernetesVersion", "v1.37.2"),
	))

	// Metrics are served over HTTPS to allowed tokens only, pprof not at all, health probes
	// to anyone.
	checkSecureMetrics(t, "https://"+metricsAddr, []string{metricsAddr, probeAddr})
	for _, path := range []string{"/healthz", "/readyz"} {
		code, _ := httpGet("http://" + probeAddr + path)
		g.Expect(code).To(Equal(http.StatusOK), path)
	}

	// No credential reaches the logs.
	g.Expect(logs.String()).NotTo(ContainSubstring(m1.Token()))
	g.Expect(strings.Count(logs.String(), "starting health probes")).To(BeNumerically(">=", 1))
}

func TestFlagsAreValidated(t *testing.T) {
	for _, args := range [][]string{{"--kubefed-namespace", ""}, {"--kube-api-qps", "0"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted bad flags", args)
		}
	}
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.namespace != "kube-federation-system" || o.metrics.bindAddress != ":8443" || o.leaderElect {
		t.Errorf("defaults = %+v", o)
	}
}
