package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	certutil "k8s.io/client-go/util/cert"

	"github.com/fedplane/fedplane/e2e/framework"
)

func TestMetricsFlags(t *testing.T) {
	certDir := t.TempDir()
	for _, name := range []string{"tls.crt", "tls.key"} {
		if err := os.WriteFile(filepath.Join(certDir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	defaults := metricsFlags{bindAddress: ":8443", secure: true, pprofAddress: "0"}
	with := func(change func(*metricsFlags)) metricsFlags { m := defaults; change(&m); return m }
	for _, tc := range []struct {
		name    string
		args    []string
		want    metricsFlags
		wantErr string
	}{
		{name: "secure metrics on 8443 and no pprof by default", want: defaults},
		{name: "plain HTTP for a lab", args: []string{"--metrics-secure=false", "--metrics-bind-address=127.0.0.1:8080"},
			want: with(func(m *metricsFlags) { m.secure, m.bindAddress = false, "127.0.0.1:8080" })},
		{name: "pprof on 127.0.0.1", args: []string{"--pprof-bind-address=127.0.0.1:6060"}, want: with(func(m *metricsFlags) { m.pprofAddress = "127.0.0.1:6060" })},
		{name: "pprof on ::1", args: []string{"--pprof-bind-address=[::1]:6060"}, want: with(func(m *metricsFlags) { m.pprofAddress = "[::1]:6060" })},
		{name: "pprof on localhost", args: []string{"--pprof-bind-address=localhost:6060"}, want: with(func(m *metricsFlags) { m.pprofAddress = "localhost:6060" })},
		{name: "a certificate directory", args: []string{"--metrics-cert-dir=" + certDir}, want: with(func(m *metricsFlags) { m.certDir = certDir })},
		{name: "pprof on every interface is refused", args: []string{"--pprof-bind-address=0.0.0.0:6060"}, wantErr: `--pprof-bind-address "0.0.0.0:6060" is refused`},
		{name: "pprof on an empty host is refused", args: []string{"--pprof-bind-address=:6060"}, wantErr: `--pprof-bind-address ":6060" is refused`},
		{name: "pprof on another host is refused", args: []string{"--pprof-bind-address=10.0.0.1:6060"}, wantErr: "--pprof-bind-address"},
		{name: "pprof without a port is refused", args: []string{"--pprof-bind-address=127.0.0.1"}, wantErr: "--pprof-bind-address"},
		{name: "pprof on port 0 is refused", args: []string{"--pprof-bind-address=127.0.0.1:0"}, wantErr: "--pprof-bind-address"},
		{name: "a certificate directory without a certificate", args: []string{"--metrics-cert-dir=" + t.TempDir()}, wantErr: "--metrics-cert-dir"},
		{name: "a certificate directory with plain HTTP", args: []string{"--metrics-cert-dir=" + certDir, "--metrics-secure=false"}, wantErr: "--metrics-cert-dir needs --metrics-secure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseFlags(%q) error = %v, want one with %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags(%q) error = %v", tc.args, err)
			}
			if diff := cmp.Diff(tc.want, o.metrics, cmp.AllowUnexported(metricsFlags{})); diff != "" {
				t.Errorf("metrics flags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunRefusesPprofOffLoopback(t *testing.T) {
	err := run(t.Context(), []string{"--pprof-bind-address", "0.0.0.0:6060"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--pprof-bind-address") {
		t.Fatalf("run() error = %v, want one that names --pprof-bind-address", err)
	}
}

func TestMetricsServerOptions(t *testing.T) {
	secure, pprofAddr := (&metricsFlags{bindAddress: ":8443", secure: true, pprofAddress: "127.0.0.1:6060"}).options()
	if !secure.SecureServing || secure.FilterProvider == nil || secure.CertDir != "" || secure.BindAddress != ":8443" || pprofAddr != "127.0.0.1:6060" {
		t.Errorf("secure options = %+v, pprof %q; want HTTPS with the authorization filter and a self-signed certificate", secure, pprofAddr)
	}
	tlsConfig := &tls.Config{NextProtos: []string{"h2"}}
	for _, opt := range secure.TLSOpts {
		opt(tlsConfig)
	}
	if diff := cmp.Diff([]string{"http/1.1"}, tlsConfig.NextProtos); diff != "" {
		t.Errorf("NextProtos (-want +got):\n%s", diff)
	}
	withCert, _ := (&metricsFlags{bindAddress: ":8443", secure: true, certDir: "/certs"}).options()
	if withCert.CertDir != "/certs" || withCert.CertName != "tls.crt" || withCert.KeyName != "tls.key" {
		t.Errorf("options with a certificate directory = %+v", withCert)
	}
	plain, _ := (&metricsFlags{bindAddress: "127.0.0.1:8080", pprofAddress: "0"}).options()
	if plain.SecureServing || plain.FilterProvider != nil {
		t.Errorf("plain options = %+v, want HTTP without a filter", plain)
	}
}

// checkSecureMetrics checks the metrics endpoint at base (https://host:port) against the lab
// host's TokenReview and SubjectAccessReview, that it serves no pprof, and that the process
// listens on the addresses listeners only.
func checkSecureMetrics(t *testing.T, base string, listeners []string) {
	t.Helper()
	g := NewWithT(t)
	cs, err := lab.Host().Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	reader := serviceAccountToken(t, cs, "metrics-reader", true)
	nobody := serviceAccountToken(t, cs, "metrics-nobody", false)

	started := time.Now()
	g.Eventually(func() string { _, body := httpsGet(base+"/metrics", reader); return body }).
		WithTimeout(10 * time.Second).Should(ContainSubstring(`fedplane_cluster_ready{cluster="m1"} 1`))
	t.Logf("an allowed token read /metrics after %s", time.Since(started).Round(time.Millisecond))
	for _, tc := range []struct {
		what, path, token string
		want              []int
	}{
		{"no token", "/metrics", "", []int{http.StatusUnauthorized}},
		// The API server answers a TokenReview of a token it cannot parse with an error,
		// which controller-runtime's filter turns into a 500.
		{"a token the host does not know", "/metrics", "not-a-token", []int{http.StatusUnauthorized, http.StatusInternalServerError}},
		{"a ServiceAccount without a binding", "/metrics", nobody, []int{http.StatusForbidden}},
		{"a ServiceAccount bound to a metrics reader", "/metrics", reader, []int{http.StatusOK}},
		{"pprof, with the lab admin's token", "/debug/pprof/", lab.Host().Token(), []int{http.StatusNotFound}},
		{"pprof's profile, with the lab admin's token", "/debug/pprof/profile?seconds=1", lab.Host().Token(), []int{http.StatusNotFound}},
	} {
		code, body := httpsGet(base+tc.path, tc.token)
		g.Expect(tc.want).To(ContainElement(code), "%s on %s: %s", tc.what, tc.path, body)
	}
	// Plain HTTP gets no metrics.
	code, _ := httpGet("http" + strings.TrimPrefix(base, "https") + "/metrics")
	g.Expect(code).NotTo(Equal(http.StatusOK))
	// Nothing else listens: no pprof.
	got, err := listeningAddresses()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(ConsistOf(listeners))
}

// serviceAccountToken creates a ServiceAccount in the host's default namespace, bound to the
// chart's metrics-reader ClusterRole when bound, and returns a token of it.
func serviceAccountToken(t *testing.T, cs kubernetes.Interface, name string, bound bool) string {
	t.Helper()
	ctx := t.Context()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if bound {
		role := chartMetricsReader(t)
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "default", Name: name}},
		}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// chartMetricsReader renders the chart's metrics-reader ClusterRole with the lab's helm.
func chartMetricsReader(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	helm := filepath.Join(os.Getenv(framework.EnvBinDir), "helm")
	// The lab's own helm, from the directory that make test names.
	out, err := exec.CommandContext(t.Context(), helm, "template", "metrics-test", filepath.Join("..", "..", "charts", "fedplane"), //nolint:gosec // See above.
		"--show-only", "templates/metrics-reader.yaml").Output()
	if err != nil {
		t.Fatalf("failed to render the chart's metrics-reader.yaml with %s: %v", helm, err)
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		role := &rbacv1.ClusterRole{}
		if err := decoder.Decode(role); err != nil {
			t.Fatalf("the chart renders no ClusterRole metrics-test-fedplane-metrics-reader: %v", err)
		}
		if role.Kind == "ClusterRole" && role.Name == "metrics-test-fedplane-metrics-reader" {
			return role
		}
	}
}

// httpsGet reads url with token as its bearer token, trusting any certificate: the
// controller's is self-signed.
func httpsGet(url, token string) (int, string) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // The controller's own self-signed certificate.
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// listeningAddresses returns the TCP addresses that this process listens on, from /proc.
func listeningAddresses() ([]string, error) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var addrs []string
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table) //nolint:gosec // One of the two fixed /proc tables above.
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			// local_address is field 1, st field 3 (0A is LISTEN) and inode field 9.
			if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] {
				continue
			}
			addr, err := procAddress(fields[1])
			if err != nil {
				return nil, err
			}
			addrs = append(addrs, addr)
		}
	}
	slices.Sort(addrs)
	return addrs, nil
}

// procAddress turns /proc/net/tcp's hex address (IP in host byte order by 32-bit word, then
// the port) into host:port.
func procAddress(s string) (string, error) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return "", fmt.Errorf("bad address %q", s)
	}
	raw, err := hex.DecodeString(ipHex)
	if err != nil {
		return "", err
	}
	ip := make(net.IP, len(raw))
	for i := 0; i+4 <= len(raw); i += 4 {
		ip[i], ip[i+1], ip[i+2], ip[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10)), nil
}

// TestPprofServesOnLoopbackWhenAsked runs the fed-controller binary with secure metrics, as
// the test framework reads them, and pprof on a loopback port.
func TestPprofServesOnLoopbackWhenAsked(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	binary, err := framework.BuildController(t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	_, err = lab.Host().InstallAPI(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	pprofAddr := freeAddr(t)
	c := framework.StartController(t, binary, lab.Host(), "pprof-test", "--metrics-secure", "--pprof-bind-address", pprofAddr)
	g.Expect(c.MetricsURL()).To(HavePrefix("https://"))
	g.Expect(c.PprofURL()).To(Equal("http://" + pprofAddr + "/debug/pprof/"))
	g.Eventually(func() error { _, err := c.ReadMetric("fedplane_cluster_ready", nil); return err }).
		WithTimeout(30 * time.Second).Should(Succeed())
	code, body := httpGet(c.PprofURL())
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(body).To(ContainSubstring("heap"))
	code, _ = httpGet(c.PprofURL() + "heap")
	g.Expect(code).To(Equal(http.StatusOK))
	code, _ = httpsGet(strings.TrimSuffix(c.MetricsURL(), "/metrics")+"/debug/pprof/", lab.Host().Token())
	g.Expect(code).To(Equal(http.StatusNotFound))
}

// TestMetricsServeTheCertificateOfTheCertDirAndReloadIt runs the fed-controller binary with
// --metrics-cert-dir, checks that the metrics endpoint presents that certificate, then
// replaces it and waits until the new one is presented, without a restart.
func TestMetricsServeTheCertificateOfTheCertDirAndReloadIt(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	binary, err := framework.BuildController(t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	_, err = lab.Host().InstallAPI(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	dir := t.TempDir()
	first := writeServingCert(t, dir)
	c := framework.StartController(t, binary, lab.Host(), "cert-dir-test", "--metrics-secure", "--metrics-cert-dir", dir)
	g.Eventually(func() error { _, err := c.ReadMetric("fedplane_cluster_ready", nil); return err }).
		WithTimeout(30 * time.Second).Should(Succeed())
	addr := strings.TrimSuffix(strings.TrimPrefix(c.MetricsURL(), "https://"), "/metrics")
	g.Expect(servedCert(addr)).To(Equal(first))

	second := writeServingCert(t, dir)
	g.Expect(second).NotTo(Equal(first))
	started := time.Now()
	g.Eventually(func() []byte { return servedCert(addr) }).WithTimeout(30 * time.Second).Should(Equal(second))
	t.Logf("the new certificate was served %s after it was written", time.Since(started).Round(time.Millisecond))
}

// writeServingCert writes a new self-signed certificate and key for 127.0.0.1 into dir, each
// file replaced at once, and returns the certificate's DER.
func writeServingCert(t *testing.T, dir string) []byte {
	t.Helper()
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", []net.IP{net.IPv4(127, 0, 0, 1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"tls.key": keyPEM, "tls.crt": certPEM} {
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	certs, err := certutil.ParseCertsPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0].Raw
}

// servedCert returns the DER of the certificate that the TLS server at addr presents, or nil.
func servedCert(addr string) []byte {
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // The test compares the certificate itself.
	if err != nil {
		return nil
	}
	defer func() { _ = conn.Close() }()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil
	}
	return certs[0].Raw
}
