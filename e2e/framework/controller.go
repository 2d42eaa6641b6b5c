package framework

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

// BuildController builds fed-controller into dir.
func BuildController(dir string) (string, error) {
	return BuildCommand(dir, "fed-controller")
}

// BuildCommand builds fedplane's command name (fed-controller, fedctl) into dir and returns the
// binary's path.
func BuildCommand(dir, name string) (string, error) {
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, "github.com/fedplane/fedplane/cmd/"+name)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("failed to build %s: %w", name, err)
	}
	return out, nil
}

// Controller is a fed-controller process.
type Controller struct {
	started time.Time
	cmd     *exec.Cmd
	metrics string
	// token is the bearer token of the scrapes, when the metrics are served over HTTPS.
	token   string
	pprof   string
	log     string
	logFile *os.File
}

// LaunchController runs the fed-controller binary against host with the given control-plane
// id, its kubeconfig and log in dir, and the flags extra after those it sets itself (the
// kubeconfig, free metrics and probe ports, the id and --metrics-secure=false). Stop ends it.
// It runs with the host's admin token, or with the chart's identity when
// FEDPLANE_E2E_CONTROLLER_IDENTITY=chart.
//
// The metrics are plain HTTP unless extra says --metrics-secure: over HTTPS each scrape costs
// the controller a TokenReview in the host once a minute, and those POSTs would count among
// the controller's writes that tests and the bench measure (the host is often a member too).
// With --metrics-secure the scrapes carry the host's admin token.
func LaunchController(binary string, host *Cluster, dir, id string, extra ...string) (*Controller, error) {
	kubeconfig := filepath.Join(dir, "kubeconfig")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	token, err := controllerToken(ctx, host, extra)
	if err != nil {
		return nil, err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[host.Name] = &clientcmdapi.Cluster{Server: host.Server(), CertificateAuthorityData: host.CACert()}
	cfg.AuthInfos[host.Name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[host.Name] = &clientcmdapi.Context{Cluster: host.Name, AuthInfo: host.Name}
	cfg.CurrentContext = host.Name
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		return nil, err
	}
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	probePort, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &Controller{metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort), log: filepath.Join(dir, "fed-controller.log")}
	if secure, _ := flagValue(extra, "metrics-secure"); secure == "true" {
		c.metrics, c.token = "https"+strings.TrimPrefix(c.metrics, "http"), host.Token()
	}
	if addr, ok := flagValue(extra, "pprof-bind-address"); ok && addr != "0" && addr != "" {
		c.pprof = "http://" + addr + "/debug/pprof/"
	}
	if c.logFile, err = os.Create(c.log); err != nil {
		return nil, err
	}
	args := append([]string{
		"--kubeconfig", kubeconfig,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"--metrics-secure=false",
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probePort),
		"--control-plane-id", id,
	}, extra...)
	c.cmd = exec.Command(binary, args...)
	c.cmd.Stdout, c.cmd.Stderr = c.logFile, c.logFile
	c.started = time.Now()
	if err := c.cmd.Start(); err != nil {
		_ = c.logFile.Close()
		return nil, err
	}
	return c, nil
}

// flagValue returns the last value of the flag --name in args, given as --name=value, as
// --name value, or as a bare --name ("true").
func flagValue(args []string, name string) (string, bool) {
	value, found := "", false
	for i, arg := range args {
		arg = "--" + strings.TrimLeft(arg, "-")
		switch {
		case strings.HasPrefix(arg, "--"+name+"="):
			value, found = strings.TrimPrefix(arg, "--"+name+"="), true
		case arg != "--"+name:
		case i+1 < len(args) && !strings.HasPrefix(args[i+1], "-"):
			value, found = args[i+1], true
		default:
			value, found = "true", true
		}
	}
	return value, found
}

// Stop kills the process and waits for it.
func (c *Controller) Stop() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
	_ = c.logFile.Close()
}

// Started is when the process was started.
func (c *Controller) Started() time.Time { return c.started }

// Pid is the process id.
func (c *Controller) Pid() int { return c.cmd.Process.Pid }

// LogPath is the path of the process's log.
func (c *Controller) LogPath() string { return c.log }

// MetricsURL is the address of the process's /metrics endpoint, https:// when it was started
// with --metrics-secure.
func (c *Controller) MetricsURL() string { return c.metrics }

// PprofURL is the address of the process's /debug/pprof/ when it was started with
// --pprof-bind-address, and empty otherwise.
func (c *Controller) PprofURL() string { return c.pprof }

// StartController runs the fed-controller binary against host with the given control-plane
// id and a member timeout of 2 s, and stops it when the test ends.
func StartController(t testing.TB, binary string, host *Cluster, id string, extra ...string) *Controller {
	t.Helper()
	c, err := LaunchController(binary, host, t.TempDir(), id, append([]string{"--member-timeout", "2s"}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			if b, err := os.ReadFile(c.log); err == nil {
				lines := strings.Split(string(b), "\n")
				t.Logf("fed-controller %s log (last 40 lines):\n%s", id, strings.Join(lines[max(0, len(lines)-40):], "\n"))
			}
		}
	})
	return c
}

// Metric sums the samples of a metric family whose labels contain all of match.
func (c *Controller) Metric(t testing.TB, name string, match map[string]string) float64 {
	t.Helper()
	v, err := c.ReadMetric(name, match)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// ReadMetric sums the samples of a metric family whose labels contain all of match.
func (c *Controller) ReadMetric(name string, match map[string]string) (float64, error) {
	body, err := c.scrape()
	if err != nil {
		return 0, err
	}
	return sumSamples(body, name, match), nil
}

// scrape reads the process's /metrics once.
func (c *Controller) scrape() (string, error) {
	req, err := http.NewRequest(http.MethodGet, c.metrics, nil) //nolint:noctx // A local test endpoint.
	if err != nil {
		return "", fmt.Errorf("failed to read the metrics: %w", err)
	}
	httpClient := http.DefaultClient
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
		// The controller's certificate is self-signed: nothing can verify it.
		httpClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // See above; test framework only.
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("failed to read the metrics: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("failed to read the metrics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("failed to read the metrics: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// sumSamples sums the samples of a metric family in a /metrics body whose labels contain all
// of match.
func sumSamples(body, name string, match map[string]string) float64 {
	var sum float64
	for _, line := range familyLines(body, name) {
		ok := true
		for k, v := range match {
			if !strings.Contains(line, fmt.Sprintf("%s=%q", k, v)) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64); err == nil {
			sum += f
		}
	}
	return sum
}

// MemberWrites counts every request other than GET that the controller sent to the members'
// API servers (client-go's own count), and the writes it counted itself.
func (c *Controller) MemberWrites(t testing.TB, members ...*Cluster) (requests, writes float64) {
	t.Helper()
	requests, writes, err := c.ReadMemberWrites(members...)
	if err != nil {
		t.Fatal(err)
	}
	return requests, writes
}

// ReadMemberWrites is MemberWrites with an error instead of a test failure.
func (c *Controller) ReadMemberWrites(members ...*Cluster) (requests, writes float64, err error) {
	body, err := c.scrape()
	if err != nil {
		return 0, 0, err
	}
	return writesTo(body, members...), sumSamples(body, "fedplane_member_writes_total", nil), nil
}

// WritesTo counts every request other than GET that the controller sent to the API servers of
// clusters, from one read of its metrics.
func (c *Controller) WritesTo(clusters ...*Cluster) (float64, error) {
	body, err := c.scrape()
	if err != nil {
		return 0, err
	}
	return writesTo(body, clusters...), nil
}

// writesTo sums client-go's non-GET request counts towards clusters in a /metrics body.
func writesTo(body string, clusters ...*Cluster) float64 {
	var sum float64
	for _, m := range clusters {
		host := strings.TrimPrefix(m.Server(), "https://")
		for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			sum += sumSamples(body, "rest_client_requests_total", map[string]string{"host": host, "method": method})
		}
	}
	return sum
}

// ReadinessDelay is the KubeFedConfig's availableDelay and unavailableDelay in the tests, as
// KubeFed's own end-to-end tests set them: a readiness change is acted on within a second.
const ReadinessDelay = time.Second

// InstallHost installs the API into host with a fast health check (period 1 s, timeout 1 s,
// failure threshold 3) and readiness delays of ReadinessDelay, and returns a client.
func InstallHost(t testing.TB, host *Cluster) client.Client {
	t.Helper()
	c, err := InstallHostAPI(t.Context(), host)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// InstallHostAPI is InstallHost with an error instead of a test failure.
func InstallHostAPI(ctx context.Context, host *Cluster) (client.Client, error) {
	c, err := host.InstallAPI(ctx)
	if err != nil {
		return nil, err
	}
	cfg := kubefedconfig.Default(corev1beta1.DefaultNamespace)
	cfg.Spec.ClusterHealthCheck.Period = &metav1.Duration{Duration: time.Second}
	cfg.Spec.ClusterHealthCheck.Timeout = &metav1.Duration{Duration: time.Second}
	cfg.Spec.ControllerDuration.AvailableDelay = &metav1.Duration{Duration: ReadinessDelay}
	cfg.Spec.ControllerDuration.UnavailableDelay = &metav1.Duration{Duration: ReadinessDelay}
	if err := c.Create(ctx, cfg); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	return c, nil
}

// RegisterMember registers member in the host under its own name, with labels.
func RegisterMember(t testing.TB, host client.Client, member *Cluster, labels map[string]string) {
	t.Helper()
	if err := member.Register(t.Context(), host, Registration{CABundle: member.CACert(), Labels: labels}); err != nil {
		t.Fatal(err)
	}
}

// MemberClient returns a client of a member cluster.
func MemberClient(t testing.TB, m *Cluster) client.Client {
	t.Helper()
	scheme, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(m.RESTConfig(), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ApplyObject applies an object to a cluster with server-side apply, as kubectl apply
// --server-side does.
func ApplyObject(t testing.TB, c client.Client, obj *unstructured.Unstructured) {
	t.Helper()
	if err := c.Apply(t.Context(), client.ApplyConfigurationFromUnstructured(obj.DeepCopy()), client.FieldOwner("e2e"), client.ForceOwnership); err != nil {
		t.Fatalf("failed to apply %s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
}

// GetObject reads an object of kind gvk; it returns nil when there is none.
func GetObject(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return obj, nil
}

// Federation is a lab host with the API installed, members registered and Ready, and
// fed-controller running.
type Federation struct {
	// Host is a client of the host.
	Host client.Client
	// Members are clients of the members, by name.
	Members map[string]client.Client
	// Controller is the fed-controller process.
	Controller *Controller
}

// StartFederation installs the API in the lab's host, registers members (labelled
// region=lab-<name>), starts the fed-controller binary with the control-plane id, and waits
// until every member is Ready.
func StartFederation(t testing.TB, lab *Lab, binary, id string, members ...string) Federation {
	t.Helper()
	return StartFederationWithFlags(t, lab, binary, id, members, nil)
}

// StartFederationWithFlags is StartFederation with more fed-controller flags, which come after
// (and so win over) those StartController sets.
func StartFederationWithFlags(t testing.TB, lab *Lab, binary, id string, members, flags []string) Federation {
	t.Helper()
	f := Federation{Host: InstallHost(t, lab.Host()), Members: map[string]client.Client{}}
	for _, name := range members {
		m := lab.Cluster(name)
		// An earlier test of the package may have registered it.
		err := f.Host.Get(t.Context(), client.ObjectKey{Namespace: corev1beta1.DefaultNamespace, Name: name}, &corev1beta1.KubeFedCluster{})
		if apierrors.IsNotFound(err) {
			RegisterMember(t, f.Host, m, map[string]string{"region": "lab-" + name})
		}
		f.Members[name] = MemberClient(t, m)
	}
	f.Controller = StartController(t, binary, lab.Host(), id, flags...)
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range members {
		for {
			kfc := &corev1beta1.KubeFedCluster{}
			err := f.Host.Get(t.Context(), client.ObjectKey{Namespace: corev1beta1.DefaultNamespace, Name: name}, kfc)
			if err == nil && cluster.IsReady(kfc.Status) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("member %s is not Ready after 30s", name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return f
}

// MetricSamples returns the samples of a metric family from one read of the controller's
// metrics, each line as /metrics gives it (labels and value).
func (c *Controller) MetricSamples(t testing.TB, name string) []string {
	t.Helper()
	body, err := c.scrape()
	if err != nil {
		t.Fatal(err)
	}
	return familyLines(body, name)
}

// familyLines returns the sample lines of a metric family in a /metrics body.
func familyLines(body, name string) []string {
	var out []string
	for line := range strings.Lines(body) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			out = append(out, line)
		}
	}
	return out
}
