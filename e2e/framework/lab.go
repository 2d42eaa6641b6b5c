package framework

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// HostName is the name of the lab's host cluster, and of its kubeconfig context.
const HostName = "host"

// Binaries are the programs a lab runs.
type Binaries struct {
	Etcd, KubeAPIServer, KubeControllerManager, KubeScheduler, Kwok string
	// KwokStages is the kwok configuration with the node and pod lifecycle stages.
	KwokStages string
}

// BinariesIn returns the lab programs in dir (as `make lab-tools` leaves them in bin/), or an
// error naming the first one that is missing.
func BinariesIn(dir string) (Binaries, error) {
	b := Binaries{
		Etcd:                  filepath.Join(dir, "etcd"),
		KubeAPIServer:         filepath.Join(dir, "kube-apiserver"),
		KubeControllerManager: filepath.Join(dir, "kube-controller-manager"),
		KubeScheduler:         filepath.Join(dir, "kube-scheduler"),
		Kwok:                  filepath.Join(dir, "kwok"),
		KwokStages:            filepath.Join(dir, "kwok-stages"),
	}
	for _, p := range []string{b.Etcd, b.KubeAPIServer, b.KubeControllerManager, b.KubeScheduler, b.Kwok, b.KwokStages} {
		if _, err := os.Stat(p); err != nil {
			return b, fmt.Errorf("lab binary %s is missing (run `make lab-tools`): %w", p, err)
		}
	}
	return b, nil
}

// Options configure a lab.
type Options struct {
	// Dir holds the lab's state: certificates, logs, pid files, etcd data and the kubeconfig.
	Dir string
	// Binaries are the programs to run.
	Binaries Binaries
	// Members are the names of the member clusters.
	Members []string
	// NoHost leaves out the host cluster, for tests that need members only.
	NoHost bool
	// Detach lets the processes outlive the calling program (for `make lab`); otherwise they
	// are killed when it exits.
	Detach bool
	// NodePods is the pod capacity of each member's default fake node (default 110).
	NodePods int
	// Logf reports progress; nil means silence.
	Logf func(format string, args ...any)
}

// Lab is a running set of clusters that share one etcd.
type Lab struct {
	opts     Options
	etcd     *process
	etcdURL  string
	clusters map[string]*Cluster
}

// Cluster is one cluster of the lab: an API server and, for members, the components that make
// Deployments become scheduled, running (fake) pods.
type Cluster struct {
	// Name is the cluster's name and kubeconfig context.
	Name string
	// Port is the API server's secure port on 127.0.0.1.
	Port int

	dir               string
	token             string
	pki               clusterPKI
	lab               *Lab
	apiserver         *process
	controllerManager *process
	scheduler         *process
	kwok              *process
}

// Start starts a lab and waits until every cluster is ready: API servers answer, controllers
// run, and each member has a Ready fake node. On error, whatever was started is stopped.
func Start(ctx context.Context, opts Options) (_ *Lab, err error) {
	if opts.Dir == "" {
		return nil, errors.New("lab: Options.Dir is required")
	}
	if opts.NodePods == 0 {
		opts.NodePods = 110
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	names := append([]string(nil), opts.Members...)
	if !opts.NoHost {
		names = append([]string{HostName}, names...)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return nil, fmt.Errorf("lab: cluster name %q is used twice", n)
		}
		if n == "etcd" || n == "" || strings.ContainsAny(n, "/ ") {
			return nil, fmt.Errorf("lab: %q cannot be a cluster name", n)
		}
		seen[n] = true
	}
	if running := runningPidFiles(opts.Dir); len(running) > 0 {
		return nil, fmt.Errorf("lab: a lab is already running in %s (%s); stop it first", opts.Dir, strings.Join(running, ", "))
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create lab directory: %w", err)
	}
	l := &Lab{opts: opts, clusters: map[string]*Cluster{}}
	defer func() {
		if err != nil {
			_ = l.stopProcesses()
		}
	}()
	if err := l.startEtcd(ctx); err != nil {
		return nil, err
	}
	for _, n := range names {
		c, err := l.newCluster(n)
		if err != nil {
			return nil, err
		}
		l.clusters[n] = c
	}
	if err := l.eachCluster(func(c *Cluster) error { return c.startAPIServer(ctx) }); err != nil {
		return nil, err
	}
	opts.Logf("lab: API servers ready: %s", strings.Join(l.Names(), ", "))
	if err := l.eachCluster(func(c *Cluster) error { return c.startComponents(ctx) }); err != nil {
		return nil, err
	}
	if err := l.WriteKubeconfig(l.KubeconfigPath()); err != nil {
		return nil, err
	}
	opts.Logf("lab: ready; kubeconfig %s", l.KubeconfigPath())
	return l, nil
}

// Names returns the cluster names, the host first, then the members in order.
func (l *Lab) Names() []string {
	var names []string
	if _, ok := l.clusters[HostName]; ok {
		names = append(names, HostName)
	}
	return append(names, l.opts.Members...)
}

// Cluster returns the named cluster, or nil.
func (l *Lab) Cluster(name string) *Cluster { return l.clusters[name] }

// Host returns the host cluster, or nil when the lab has none.
func (l *Lab) Host() *Cluster { return l.clusters[HostName] }

// Dir returns the lab's state directory.
func (l *Lab) Dir() string { return l.opts.Dir }

// KubeconfigPath is where the lab's kubeconfig is written: one context per cluster.
func (l *Lab) KubeconfigPath() string { return filepath.Join(l.opts.Dir, "kubeconfig") }

// Stop stops every process of the lab and removes its state directory.
func (l *Lab) Stop() error {
	if err := l.stopProcesses(); err != nil {
		return err
	}
	if err := os.RemoveAll(l.opts.Dir); err != nil {
		return fmt.Errorf("failed to remove lab directory: %w", err)
	}
	return nil
}

func (l *Lab) stopProcesses() error {
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range l.clusters {
		wg.Add(1)
		go func(c *Cluster) {
			defer wg.Done()
			for _, p := range []*process{c.kwok, c.scheduler, c.controllerManager, c.apiserver} {
				if p == nil {
					continue
				}
				if err := p.stop(10 * time.Second); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}(c)
	}
	wg.Wait()
	if l.etcd != nil {
		if err := l.etcd.stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// eachCluster runs f for every cluster in parallel and joins the errors.
func (l *Lab) eachCluster(f func(*Cluster) error) error {
	errs := make([]error, 0, len(l.clusters))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range l.clusters {
		wg.Add(1)
		go func(c *Cluster) {
			defer wg.Done()
			if err := f(c); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("cluster %s: %w", c.Name, err))
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (l *Lab) startEtcd(ctx context.Context) error {
	clientPort, err := freePort()
	if err != nil {
		return err
	}
	peerPort, err := freePort()
	if err != nil {
		return err
	}
	dir := filepath.Join(l.opts.Dir, "etcd")
	l.etcdURL = "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	l.etcd = &process{
		name: "etcd", dir: dir, path: l.opts.Binaries.Etcd, detach: l.opts.Detach,
		args: []string{
			"--name=lab",
			"--data-dir=" + filepath.Join(dir, "data"),
			"--listen-client-urls=" + l.etcdURL,
			"--advertise-client-urls=" + l.etcdURL,
			"--listen-peer-urls=" + peerURL,
			"--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=lab=" + peerURL,
			// The lab's data is disposable: skip fsync for speed, compact often to bound memory.
			"--unsafe-no-fsync=true",
			"--auto-compaction-mode=periodic",
			"--auto-compaction-retention=5m",
			"--quota-backend-bytes=8589934592",
			"--log-level=warn",
		},
	}
	if err := l.etcd.start(); err != nil {
		return err
	}
	err = pollUntil(ctx, 60*time.Second, l.etcd, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.etcdURL+"/health", nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		defer func() { _ = resp.Body.Close() }()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("etcd did not become healthy (log: %s): %w", l.etcd.logPath(), err)
	}
	return nil
}

func (l *Lab) newCluster(name string) (*Cluster, error) {
	dir := filepath.Join(l.opts.Dir, name)
	pki, err := writePKI(filepath.Join(dir, "pki"), name)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	token, err := randomToken()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Name: name, Port: port, dir: dir, token: token, pki: pki, lab: l}
	// The admin token belongs to system:masters; the lab is a local, disposable playground.
	tokens := fmt.Sprintf("%s,lab-admin,lab-admin,system:masters\n", token)
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return nil, fmt.Errorf("failed to write token file: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	addContext(cfg, name, c.Server(), mustRead(pki.CACert), token)
	cfg.CurrentContext = name
	if err := clientcmd.WriteToFile(*cfg, c.componentKubeconfig()); err != nil {
		return nil, fmt.Errorf("failed to write component kubeconfig: %w", err)
	}
	c.apiserver = &process{
		name: "kube-apiserver", dir: dir, path: l.opts.Binaries.KubeAPIServer, detach: l.opts.Detach,
		args: []string{
			"--etcd-servers=" + l.etcdURL,
			"--etcd-prefix=/" + name,
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(port),
			"--tls-cert-file=" + pki.ServingCert,
			"--tls-private-key-file=" + pki.ServingKey,
			"--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
			"--authorization-mode=RBAC",
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + pki.SAPub,
			"--service-account-signing-key-file=" + pki.SAKey,
			"--service-cluster-ip-range=10.0.0.0/16",
			"--allow-privileged=true",
			"--cert-dir=" + filepath.Join(dir, "pki"),
			// A lab API server runs alone on its etcd prefix.
			"--endpoint-reconciler-type=none",
		},
	}
	return c, nil
}

// Server returns the URL of the cluster's API server.
func (c *Cluster) Server() string { return "https://127.0.0.1:" + strconv.Itoa(c.Port) }

// CACert returns the PEM of the CA that signs the API server's serving certificate.
func (c *Cluster) CACert() []byte { return mustRead(c.pki.CACert) }

// RESTConfig returns an admin client configuration for the cluster, with TLS verification on.
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            c.Server(),
		BearerToken:     c.token,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.CACert()},
		QPS:             100,
		Burst:           200,
	}
}

// Token returns the cluster's admin bearer token, for tests that build their own registrations.
func (c *Cluster) Token() string { return c.token }

// Clientset returns an admin clientset for the cluster.
func (c *Cluster) Clientset() (*kubernetes.Clientset, error) {
	return kubernetes.NewForConfig(c.RESTConfig())
}

func (c *Cluster) componentKubeconfig() string { return filepath.Join(c.dir, "admin.kubeconfig") }

func (c *Cluster) isMember() bool { return c.Name != HostName }

func (c *Cluster) startAPIServer(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		if err := c.apiserver.start(); err != nil {
			return err
		}
		err := c.waitAPIServerReady(ctx, 120*time.Second)
		if err == nil || attempt == 3 || !c.portTaken() {
			return err
		}
		// The free port was taken by another program between the lab's choice and the API
		// server's bind (suites run side by side): choose another one.
		port, perr := freePort()
		if perr != nil {
			return perr
		}
		if perr := c.setPort(port); perr != nil {
			return perr
		}
	}
}

// portTaken tells whether the API server's last start failed because its port was in use.
func (c *Cluster) portTaken() bool {
	b, err := os.ReadFile(c.apiserver.logPath())
	return err == nil && strings.Contains(string(b), "address already in use")
}

// setPort moves the API server to another port, in its flags and in the components'
// kubeconfig.
func (c *Cluster) setPort(port int) error {
	c.Port = port
	for i, a := range c.apiserver.args {
		if strings.HasPrefix(a, "--secure-port=") {
			c.apiserver.args[i] = "--secure-port=" + strconv.Itoa(port)
		}
	}
	cfg := clientcmdapi.NewConfig()
	addContext(cfg, c.Name, c.Server(), mustRead(c.pki.CACert), c.token)
	cfg.CurrentContext = c.Name
	if err := clientcmd.WriteToFile(*cfg, c.componentKubeconfig()); err != nil {
		return fmt.Errorf("failed to write component kubeconfig: %w", err)
	}
	return nil
}

func (c *Cluster) waitAPIServerReady(ctx context.Context, timeout time.Duration) error {
	cfg := c.RESTConfig()
	cfg.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	err = pollUntil(ctx, timeout, c.apiserver, func(ctx context.Context) (bool, error) {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver did not become ready (log: %s): %w", c.apiserver.logPath(), err)
	}
	return nil
}

// startComponents starts the controller manager everywhere and, in members, the scheduler and
// kwok with one fake node; it waits until they work.
func (c *Cluster) startComponents(ctx context.Context) error {
	kubeconfig := c.componentKubeconfig()
	c.controllerManager = &process{
		name: "kube-controller-manager", dir: c.dir, path: c.lab.opts.Binaries.KubeControllerManager, detach: c.lab.opts.Detach,
		args: []string{
			"--kubeconfig=" + kubeconfig,
			"--leader-elect=false",
			"--secure-port=0",
			"--cluster-name=" + c.Name,
			"--root-ca-file=" + c.pki.CACert,
			"--service-account-private-key-file=" + c.pki.SAKey,
			"--use-service-account-credentials=false",
			"--kube-api-qps=200",
			"--kube-api-burst=400",
			"--concurrent-deployment-syncs=10",
			"--concurrent-replicaset-syncs=10",
			"--concurrent-gc-syncs=20",
		},
	}
	if err := c.controllerManager.start(); err != nil {
		return err
	}
	if c.isMember() {
		c.scheduler = &process{
			name: "kube-scheduler", dir: c.dir, path: c.lab.opts.Binaries.KubeScheduler, detach: c.lab.opts.Detach,
			args: []string{
				"--kubeconfig=" + kubeconfig,
				"--leader-elect=false",
				"--secure-port=0",
				"--kube-api-qps=200",
				"--kube-api-burst=400",
			},
		}
		if err := c.scheduler.start(); err != nil {
			return err
		}
		c.kwok = &process{
			name: "kwok", dir: c.dir, path: c.lab.opts.Binaries.Kwok, detach: c.lab.opts.Detach,
			args: []string{
				"--kubeconfig=" + kubeconfig,
				"--config=" + c.lab.opts.Binaries.KwokStages,
				"--manage-all-nodes=false",
				"--manage-nodes-with-annotation-selector=" + FakeNodeAnnotation + "=fake",
				"--node-ip=127.0.0.1",
				"--node-lease-duration-seconds=40",
			},
		}
		if err := c.kwok.start(); err != nil {
			return err
		}
		labels := map[string]string{
			"topology.kubernetes.io/region": "lab-" + c.Name,
			"topology.kubernetes.io/zone":   "lab-" + c.Name + "-a",
		}
		if err := c.AddFakeNode(ctx, c.Name+"-node-1", c.lab.opts.NodePods, labels); err != nil {
			return err
		}
	}
	// The service account controller creates "default" in every namespace: once it exists,
	// the controller manager runs.
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	err = pollUntil(ctx, 90*time.Second, c.controllerManager, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("kube-controller-manager did not start working (log: %s): %w", c.controllerManager.logPath(), err)
	}
	return nil
}

// FakeNodeAnnotation marks the nodes that the lab's kwok manages.
const FakeNodeAnnotation = "kwok.x-k8s.io/node"

// AddFakeNode adds a node that kwok runs, with room for pods pods, and waits until it is Ready.
// Pods beyond its capacity stay Pending with PodScheduled=False, reason Unschedulable.
func (c *Cluster) AddFakeNode(ctx context.Context, name string, pods int, labels map[string]string) error {
	if c.kwok == nil {
		return fmt.Errorf("cluster %s runs no kwok; fake nodes are for members", c.Name)
	}
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	nodeLabels := map[string]string{
		"type":                   "kwok",
		"kubernetes.io/hostname": name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
	}
	for k, v := range labels {
		nodeLabels[k] = v
	}
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse(strconv.Itoa(pods)),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Labels:      nodeLabels,
			Annotations: map[string]string{FakeNodeAnnotation: "fake"},
		},
		// Nodes keep their status on create: capacity is what the scheduler fits pods into.
		Status: corev1.NodeStatus{Capacity: resources, Allocatable: resources},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create node %s: %w", name, err)
	}
	err = pollUntil(ctx, 60*time.Second, c.kwok, func(ctx context.Context) (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("node %s did not become Ready (kwok log: %s): %w", name, c.kwok.logPath(), err)
	}
	return nil
}

// StopAPIServer sends SIGSTOP to the API server: it keeps its connections but answers nothing,
// as a partitioned or hung cluster does. It returns once every thread of it has stopped, so that no request sent afterwards is
// answered.
func (c *Cluster) StopAPIServer() error { return c.apiserver.pause() }

// ContinueAPIServer sends SIGCONT to a stopped API server.
func (c *Cluster) ContinueAPIServer() error { return c.apiserver.signal(syscall.SIGCONT) }

// KillAPIServer kills the API server with SIGKILL and waits until it is gone.
func (c *Cluster) KillAPIServer() error { return c.apiserver.kill() }

// RestartAPIServer starts the API server again on the same port and etcd prefix, so it comes
// back with its data, and waits until it is ready.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	if c.apiserver.running() {
		return fmt.Errorf("kube-apiserver of %s is still running", c.Name)
	}
	return c.startAPIServer(ctx)
}

// WriteKubeconfig writes a kubeconfig with one context per cluster, named after it; the
// current context is the host's (or the first member's).
func (l *Lab) WriteKubeconfig(path string) error {
	cfg := clientcmdapi.NewConfig()
	names := l.Names()
	for _, n := range names {
		c := l.clusters[n]
		addContext(cfg, n, c.Server(), c.CACert(), c.token)
	}
	if len(names) > 0 {
		cfg.CurrentContext = names[0]
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("failed to write kubeconfig: %w", err)
	}
	return os.Chmod(path, 0o600)
}

func addContext(cfg *clientcmdapi.Config, name, server string, ca []byte, token string) {
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
}

// Down stops the lab whose state is in dir, from its pid files, and removes dir. It is how
// `make lab-down` stops a lab that `make lab` detached.
func Down(dir string) error {
	order := []string{"fed-controller", "kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"}
	var errs []error
	for _, component := range order {
		files, _ := filepath.Glob(filepath.Join(dir, "*", component+".pid"))
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, f := range files {
			wg.Add(1)
			go func(f string) {
				defer wg.Done()
				if err := stopPidFile(f, component, 10*time.Second); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}(f)
		}
		wg.Wait()
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("failed to remove %s: %w", dir, err)
	}
	return nil
}

// runningPidFiles lists the pid files in dir whose process still runs.
func runningPidFiles(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.pid"))
	var running []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		if pidAlive(pid, strings.TrimSuffix(filepath.Base(f), ".pid")) {
			rel, _ := filepath.Rel(dir, f)
			running = append(running, rel)
		}
	}
	sort.Strings(running)
	return running
}

// Running reports whether a lab runs from dir.
func Running(dir string) bool { return len(runningPidFiles(dir)) > 0 }

// pollUntil polls cond every 250ms until it is true, the timeout passes, or p exits.
func pollUntil(ctx context.Context, timeout time.Duration, p *process, cond func(context.Context) (bool, error)) error {
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if p != nil && !p.running() {
			return false, fmt.Errorf("%s exited", p.name)
		}
		return cond(ctx)
	})
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("failed to find a free port: %w", err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("failed to generate token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func mustRead(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(fmt.Sprintf("lab: %v", err))
	}
	return b
}
