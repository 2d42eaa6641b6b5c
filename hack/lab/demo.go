package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/manifests"
)

// demo runs fed-controller in the background, joins the members, applies the seed
// walkthrough and prints what each member received.
func demo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	dir := fs.String("dir", ".lab", "the lab's state directory; fed-controller's pid file and log go in its fedplane/ folder")
	bin := fs.String("bin", "bin", "directory with fed-controller and fedctl")
	kubeconfig := fs.String("kubeconfig", ".lab/kubeconfig", "kubeconfig of the lab")
	hostContext := fs.String("context", "host", "kubeconfig context of the host cluster")
	members := fs.String("clusters", "local cce", "space-separated contexts of the members to join")
	fixtures := fs.String("fixtures", "../shared/fixtures", "the fixtures directory with seed/manifests")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the walkthrough to propagate")
	_ = fs.Parse(args)

	if err := startController(*dir, *bin, *kubeconfig, *hostContext, "127.0.0.1:8080", "127.0.0.1:8081"); err != nil {
		return err
	}
	for _, m := range strings.Fields(*members) {
		cmd := exec.CommandContext(ctx, filepath.Join(*bin, "fedctl"), "join", m, "--cluster-context", m,
			"--host-cluster-context", *hostContext, "--kubeconfig", *kubeconfig)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("fedctl join %s: %w", m, err)
		}
	}
	cfg, err := restConfig(*kubeconfig, *hostContext)
	if err != nil {
		return err
	}
	applier, err := framework.NewApplier(cfg)
	if err != nil {
		return err
	}
	objs, err := manifests.Load(filepath.Join(*fixtures, "seed", "manifests"))
	if err != nil {
		return err
	}
	var deployments, preferences []*unstructured.Unstructured
	for _, o := range objs {
		if _, err := applier.Apply(ctx, o.Object, "fedplane-demo"); err != nil {
			return fmt.Errorf("%s: %s %s: %w", o.File, o.Object.GetKind(), o.Object.GetName(), err)
		}
		fmt.Printf("applied %s %s/%s\n", strings.ToLower(o.Object.GetKind()), o.Object.GetNamespace(), o.Object.GetName())
		switch o.Object.GetKind() {
		case "FederatedDeployment":
			deployments = append(deployments, o.Object)
		case "ReplicaSchedulingPreference":
			preferences = append(preferences, o.Object)
		}
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	fmt.Println("\nWaiting for every FederatedDeployment to report Propagation True...")
	if err := waitAll(ctx, dyn, fedDeploymentResource, deployments, *timeout, propagated, "not propagated"); err != nil {
		return fmt.Errorf("%w; see %s", err, filepath.Join(*dir, "fedplane", "fed-controller.log"))
	}
	fmt.Println("Waiting for every ReplicaSchedulingPreference to have all its replicas ready...")
	if err := waitAll(ctx, dyn, rspResource, preferences, *timeout, scheduled, "replicas not all ready"); err != nil {
		return fmt.Errorf("%w; see %s", err, filepath.Join(*dir, "fedplane", "fed-controller.log"))
	}
	if err := printTable(ctx, *kubeconfig, strings.Fields(*members), deployments); err != nil {
		return err
	}
	if err := printPreferences(ctx, dyn, preferences); err != nil {
		return err
	}
	fmt.Printf(`
The lab keeps running. Explore it with:
  kubectl --kubeconfig %[1]s --context %[2]s get kubefedclusters -n kube-federation-system
  kubectl --kubeconfig %[1]s --context %[2]s get federateddeployments -A
  kubectl --kubeconfig %[1]s --context %[2]s get rsp -n test-namespace
  kubectl --kubeconfig %[1]s --context cce -n test-namespace get deployments
  bin/fedctl plan -f %[3]s/seed/manifests -f %[3]s/seed/clusters/ready.yaml
fed-controller's log: %[4]s
Stop everything with: make demo-down
`, *kubeconfig, *hostContext, *fixtures, filepath.Join(*dir, "fedplane", "fed-controller.log"))
	return nil
}

// startController starts fed-controller in the background, detached, unless it runs already.
// It serves its metrics and health probes on the given addresses.
func startController(dir, bin, kubeconfig, hostContext, metricsAddr, healthAddr string) error {
	state := filepath.Join(dir, "fedplane")
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	pidFile := filepath.Join(state, "fed-controller.pid")
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && syscall.Kill(pid, 0) == nil {
			fmt.Println("fed-controller already runs, pid", pid)
			return nil
		}
	}
	hostKubeconfig := filepath.Join(state, "host.kubeconfig")
	// fed-controller reads the current context: give it a kubeconfig whose current context
	// is the host's.
	kc, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return fmt.Errorf("failed to read %s (is the lab up? run `make lab`): %w", kubeconfig, err)
	}
	kc.CurrentContext = hostContext
	if err := clientcmd.WriteToFile(*kc, hostKubeconfig); err != nil {
		return err
	}
	logPath := filepath.Join(state, "fed-controller.log")
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer func() { _ = log.Close() }()
	cmd := exec.Command(filepath.Join(bin, "fed-controller"), "--kubeconfig", hostKubeconfig,
		"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", healthAddr)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("failed to start fed-controller: %w", err)
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		return err
	}
	_ = cmd.Process.Release()
	fmt.Printf("fed-controller started, pid %d, log %s, metrics http://%s/metrics\n", cmd.Process.Pid, logPath, metricsAddr)
	return nil
}

// waitAll waits until ok holds for every one of objs, read from gvr; what says, in an error,
// what did not happen.
func waitAll(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource, objs []*unstructured.Unstructured, timeout time.Duration, ok func(*unstructured.Unstructured) bool, what string) error {
	deadline := time.Now().Add(timeout)
	for {
		pending := []string{}
		for _, o := range objs {
			got, err := dyn.Resource(gvr).Namespace(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil || !ok(got) {
				pending = append(pending, o.GetNamespace()+"/"+o.GetName())
			}
		}
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s after %s: %s", what, timeout, strings.Join(pending, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

var fedDeploymentResource = schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federateddeployments"}

var rspResource = schema.GroupVersionResource{Group: "scheduling.kubefed.io", Version: "v1alpha1", Resource: "replicaschedulingpreferences"}

// scheduled tells whether a preference has planned its current spec with all its replicas
// ready.
func scheduled(obj *unstructured.Unstructured) bool {
	total, _, _ := unstructured.NestedInt64(obj.Object, "spec", "totalReplicas")
	ready, _, _ := unstructured.NestedInt64(obj.Object, "status", "readyReplicas")
	observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	return observed == obj.GetGeneration() && ready == total && condition(obj, "Planned")
}

// printPreferences prints the preferences as `kubectl get rsp` does.
func printPreferences(ctx context.Context, dyn dynamic.Interface, objs []*unstructured.Unstructured) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Println()
	fmt.Fprintln(w, "RSP\tTOTAL\tSCHEDULED\tREADY\tCLUSTERS (ready/planned)")
	for _, o := range objs {
		got, err := dyn.Resource(rspResource).Namespace(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		total, _, _ := unstructured.NestedInt64(got.Object, "spec", "totalReplicas")
		sched, _, _ := unstructured.NestedInt64(got.Object, "status", "scheduledReplicas")
		ready, _, _ := unstructured.NestedInt64(got.Object, "status", "readyReplicas")
		summary, _, _ := unstructured.NestedString(got.Object, "status", "summary")
		fmt.Fprintf(w, "%s/%s\t%d\t%d\t%d\t%s\n", got.GetNamespace(), got.GetName(), total, sched, ready, summary)
	}
	return w.Flush()
}

// propagated tells whether a federated object's Propagation condition is True.
func propagated(obj *unstructured.Unstructured) bool {
	return condition(obj, "Propagation")
}

// condition tells whether the object's condition of type t is True.
func condition(obj *unstructured.Unstructured, t string) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == t {
			return m["status"] == "True"
		}
	}
	return false
}

// printTable prints, per member, the Deployments that the walkthrough put there.
func printTable(ctx context.Context, kubeconfig string, members []string, objs []*unstructured.Unstructured) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Println()
	fmt.Fprintln(w, "CLUSTER\tOBJECT\tREPLICAS\tREADY\tIMAGE")
	sort.Strings(members)
	for _, m := range members {
		cfg, err := restConfig(kubeconfig, m)
		if err != nil {
			return err
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		for _, o := range objs {
			d, err := cs.AppsV1().Deployments(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				fmt.Fprintf(w, "%s\tdeployment %s/%s\t-\t-\t(%v)\n", m, o.GetNamespace(), o.GetName(), errors.Unwrap(err))
				continue
			}
			fmt.Fprintf(w, "%s\tdeployment %s/%s\t%d\t%d\t%s\n", m, d.Namespace, d.Name, replicas(d), d.Status.ReadyReplicas, d.Spec.Template.Spec.Containers[0].Image)
		}
	}
	return w.Flush()
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}
