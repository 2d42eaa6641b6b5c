package propagation_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

const ns = corev1beta1.DefaultNamespace

// controllerBinary is fed-controller, built once by TestMain.
var controllerBinary string

// buildController builds fed-controller into dir.
func buildController(dir string) (string, error) {
	out := filepath.Join(dir, "fed-controller")
	cmd := exec.Command("go", "build", "-o", out, "github.com/fedplane/fedplane/cmd/fed-controller")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("failed to build fed-controller: %w", err)
	}
	return out, nil
}

// controller is a fed-controller process.
type controller struct {
	cmd     *exec.Cmd
	metrics string
	log     string
}

// startController runs fed-controller against host with the given control-plane id, and stops
// it when the test ends.
func startController(t *testing.T, host *framework.Cluster, id string, extra ...string) *controller {
	t.Helper()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[host.Name] = &clientcmdapi.Cluster{Server: host.Server(), CertificateAuthorityData: host.CACert()}
	cfg.AuthInfos[host.Name] = &clientcmdapi.AuthInfo{Token: host.Token()}
	cfg.Contexts[host.Name] = &clientcmdapi.Context{Cluster: host.Name, AuthInfo: host.Name}
	cfg.CurrentContext = host.Name
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	metricsPort, probePort := freePort(t), freePort(t)
	c := &controller{metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort), log: filepath.Join(dir, "fed-controller.log")}
	logFile, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--kubeconfig", kubeconfig,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probePort),
		"--control-plane-id", id, "--member-timeout", "2s",
	}, extra...)
	c.cmd = exec.Command(controllerBinary, args...)
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(c.log); err == nil {
				lines := strings.Split(string(b), "\n")
				t.Logf("fed-controller %s log (last 40 lines):\n%s", id, strings.Join(lines[max(0, len(lines)-40):], "\n"))
			}
		}
	})
	return c
}

// metric sums the samples of a metric family whose labels contain all of match.
func (c *controller) metric(t *testing.T, name string, match map[string]string) float64 {
	t.Helper()
	resp, err := http.Get(c.metrics) //nolint:noctx // A local test endpoint.
	if err != nil {
		t.Fatalf("failed to read the metrics: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for k, v := range match {
			if !strings.Contains(line, fmt.Sprintf("%s=%q", k, v)) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		if err == nil {
			sum += f
		}
	}
	return sum
}

// memberWrites counts every request other than GET that the controller sent to the members'
// API servers (client-go's own count), and the writes it counted itself.
func (c *controller) memberWrites(t *testing.T, members ...*framework.Cluster) (requests, writes float64) {
	t.Helper()
	for _, m := range members {
		host := strings.TrimPrefix(m.Server(), "https://")
		for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			requests += c.metric(t, "rest_client_requests_total", map[string]string{"host": host, "method": method})
		}
	}
	return requests, c.metric(t, "fedplane_member_writes_total", nil)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// installHost installs the API into host with a fast health check (period 1 s, timeout 1 s,
// failure threshold 3), and returns a client.
func installHost(t *testing.T, host *framework.Cluster) client.Client {
	t.Helper()
	c, err := host.InstallAPI(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cfg := kubefedconfig.Default(ns)
	cfg.Spec.ClusterHealthCheck.Period = &metav1.Duration{Duration: time.Second}
	cfg.Spec.ClusterHealthCheck.Timeout = &metav1.Duration{Duration: time.Second}
	if err := c.Create(t.Context(), cfg); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return c
}

// register registers member in the host under its own name, with labels.
func register(t *testing.T, host client.Client, member *framework.Cluster, labels map[string]string) {
	t.Helper()
	if err := member.Register(t.Context(), host, framework.Registration{CABundle: member.CACert(), Labels: labels}); err != nil {
		t.Fatal(err)
	}
}

// memberClient returns a client of a member cluster.
func memberClient(t *testing.T, m *framework.Cluster) client.Client {
	t.Helper()
	scheme, err := framework.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(m.RESTConfig(), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fedObject builds a federated object from YAML.
func fedObject(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
		t.Fatalf("bad test manifest: %v", err)
	}
	return obj
}

// apply applies an object to a cluster with server-side apply, as kubectl apply
// --server-side does.
func apply(t *testing.T, c client.Client, obj *unstructured.Unstructured) {
	t.Helper()
	if err := c.Apply(t.Context(), client.ApplyConfigurationFromUnstructured(obj.DeepCopy()), client.FieldOwner("e2e"), client.ForceOwnership); err != nil {
		t.Fatalf("failed to apply %s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
}

// getObject reads an object of kind gvk; it returns nil when there is none.
func getObject(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
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

// fedStatus reads a federated object's status.
func fedStatus(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, namespace, name string) (typesv1beta1.FederatedStatus, error) {
	var st typesv1beta1.FederatedStatus
	obj, err := getObject(ctx, c, gvk, namespace, name)
	if err != nil || obj == nil {
		return st, err
	}
	raw, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "status")
	if raw == nil {
		return st, nil
	}
	b, err := yaml.Marshal(raw)
	if err != nil {
		return st, err
	}
	return st, yaml.Unmarshal(b, &st)
}

// propagation returns the Propagation condition's status and reason ("" when absent).
func propagation(st typesv1beta1.FederatedStatus) string {
	for _, c := range st.Conditions {
		if c != nil && c.Type == typesv1beta1.PropagationConditionType {
			return string(c.Status) + "/" + string(c.Reason)
		}
	}
	return ""
}

// clusterStatuses maps status.clusters to name=status strings, in order.
func clusterStatuses(st typesv1beta1.FederatedStatus) []string {
	out := []string{}
	for _, c := range st.Clusters {
		out = append(out, c.Name+"="+string(c.Status))
	}
	return out
}

var (
	configMapGVK          = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	deploymentGVK         = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	federatedConfigMapGVK = typesv1beta1.GroupVersion.WithKind("FederatedConfigMap")
	federatedDeployGVK    = typesv1beta1.GroupVersion.WithKind("FederatedDeployment")
	federatedNamespaceGVK = typesv1beta1.GroupVersion.WithKind("FederatedNamespace")
)

// federateNamespace creates a namespace in the host and its FederatedNamespace, placed on
// clusters.
func federateNamespace(t *testing.T, host client.Client, name string, clusters ...string) {
	t.Helper()
	if err := host.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	refs := []any{}
	for _, c := range clusters {
		refs = append(refs, map[string]any{"name": c})
	}
	apply(t, host, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedNamespace",
		"metadata": map[string]any{"name": name, "namespace": name},
		"spec":     map[string]any{"placement": map[string]any{"clusters": refs}},
	}})
}

// configMap builds a FederatedConfigMap with data and a cluster list.
func configMap(namespace, name string, data map[string]any, clusters ...string) *unstructured.Unstructured {
	refs := []any{}
	for _, c := range clusters {
		refs = append(refs, map[string]any{"name": c})
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedConfigMap",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec": map[string]any{
			"template":  map[string]any{"data": data},
			"placement": map[string]any{"clusters": refs},
		},
	}}
}
