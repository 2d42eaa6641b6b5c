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
	"strings"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
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
	readyTimeout := fs.Duration("ready-timeout", time.Minute, "how long to wait for fed-controller's /readyz to answer ok")
	_ = fs.Parse(args)

	controller, err := startController(ctx, *dir, *bin, *kubeconfig, *hostContext, *readyTimeout)
	if err != nil {
		return err
	}
	if err := joinMembers(ctx, *bin, *kubeconfig, *hostContext, strings.Fields(*members)); err != nil {
		return err
	}
	cfg, err := restConfig(*kubeconfig, *hostContext)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// The preferences are planned over the Ready members: applied before every member is
	// Ready, they would keep their first plan, which leaves out the others.
	fmt.Println("Waiting for the members to be Ready...")
	if err := waitClustersReady(ctx, dyn, len(strings.Fields(*members)), *timeout); err != nil {
		return controller.failure(err)
	}
	deployments, preferences, err := applyWalkthrough(ctx, cfg, *fixtures)
	if err != nil {
		return err
	}
	fmt.Println("\nWaiting for every FederatedDeployment to report Propagation True...")
	if err := waitAll(ctx, dyn, fedDeploymentResource, deployments, *timeout, propagated, "not propagated", controller.alive); err != nil {
		return controller.failure(err)
	}
	fmt.Println("Waiting for every ReplicaSchedulingPreference to have all its replicas ready...")
	if err := waitAll(ctx, dyn, rspResource, preferences, *timeout, scheduled, "replicas not all ready", controller.alive); err != nil {
		return controller.failure(err)
	}
	if err := printTable(ctx, *kubeconfig, strings.Fields(*members), deployments); err != nil {
		return err
	}
	if err := printPreferences(ctx, dyn, preferences); err != nil {
		return err
	}
	printNextSteps(*kubeconfig, *hostContext, *fixtures, *dir, controller)
	return nil
}

// joinMembers joins each of the members, named after their kubeconfig contexts, with fedctl.
func joinMembers(ctx context.Context, bin, kubeconfig, hostContext string, members []string) error {
	for _, m := range members {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "fedctl"), "join", m, "--cluster-context", m,
			"--host-cluster-context", hostContext, "--kubeconfig", kubeconfig)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("fedctl join %s: %w", m, err)
		}
	}
	return nil
}

// applyWalkthrough applies the seed manifests to the host of cfg and returns the
// FederatedDeployments and ReplicaSchedulingPreferences among them.
func applyWalkthrough(ctx context.Context, cfg *rest.Config, fixtures string) (deployments, preferences []*unstructured.Unstructured, err error) {
	applier, err := framework.NewApplier(cfg)
	if err != nil {
		return nil, nil, err
	}
	objs, err := manifests.Load(filepath.Join(fixtures, "seed", "manifests"))
	if err != nil {
		return nil, nil, err
	}
	for _, o := range objs {
		if _, err := applier.Apply(ctx, o.Object, "fedplane-demo"); err != nil {
			return nil, nil, fmt.Errorf("%s: %s %s: %w", o.File, o.Object.GetKind(), o.Object.GetName(), err)
		}
		fmt.Printf("applied %s %s/%s\n", strings.ToLower(o.Object.GetKind()), o.Object.GetNamespace(), o.Object.GetName())
		switch o.Object.GetKind() {
		case "FederatedDeployment":
			deployments = append(deployments, o.Object)
		case "ReplicaSchedulingPreference":
			preferences = append(preferences, o.Object)
		}
	}
	return deployments, preferences, nil
}

// printNextSteps says how to look around the lab, where fed-controller is and how to stop it.
func printNextSteps(kubeconfig, hostContext, fixtures, dir string, controller *controllerProcess) {
	fmt.Printf(`
The lab keeps running. Explore it with:
  kubectl --kubeconfig %[1]s --context %[2]s get kubefedclusters -n kube-federation-system
  kubectl --kubeconfig %[1]s --context %[2]s get federateddeployments -A
  kubectl --kubeconfig %[1]s --context %[2]s get rsp -n test-namespace
  kubectl --kubeconfig %[1]s --context cce -n test-namespace get deployments
  bin/fedctl plan -f %[3]s/seed/manifests -f %[3]s/seed/clusters/ready.yaml
  bin/fedctl get deployments -A --kubeconfig %[1]s --context %[2]s
  bin/fedctl describe deployments test-deployment -n test-namespace --kubeconfig %[1]s --context %[2]s
fed-controller: pid %[4]d, log %[5]s, metrics https://%[6]s/metrics, health http://%[7]s/readyz
Its metrics need a bearer token allowed to get /metrics, such as the lab admin's:
  curl -sk -H "Authorization: Bearer $(kubectl --kubeconfig %[1]s --context %[2]s config view --raw --minify -o jsonpath='{.users[0].user.token}')" https://%[6]s/metrics
Stop everything with: make demo-down LAB_DIR=%[8]s
`, kubeconfig, hostContext, fixtures, controller.pid, controller.logPath, controller.addresses.Metrics, controller.addresses.Health, dir)
}

// startController starts fed-controller in the background, detached, unless it runs already,
// and waits until it is ready.
func startController(ctx context.Context, dir, bin, kubeconfig, hostContext string, readyTimeout time.Duration) (*controllerProcess, error) {
	state := filepath.Join(dir, "fedplane")
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, err
	}
	if p, ok := runningController(state, "fed-controller"); ok {
		fmt.Printf("fed-controller already runs, pid %d, log %s, metrics https://%s/metrics\n", p.pid, p.logPath, p.addresses.Metrics)
		if err := p.waitReady(ctx, readyTimeout); err != nil {
			return nil, p.failure(err)
		}
		return p, nil
	}
	hostKubeconfig := filepath.Join(state, "host.kubeconfig")
	// fed-controller reads the current context: give it a kubeconfig whose current context
	// is the host's.
	kc, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s (is the lab up? run `make lab`): %w", kubeconfig, err)
	}
	kc.CurrentContext = hostContext
	if err := clientcmd.WriteToFile(*kc, hostKubeconfig); err != nil {
		return nil, err
	}
	return launchController(ctx, os.Stdout, filepath.Join(bin, "fed-controller"), state, []string{"--kubeconfig", hostKubeconfig}, readyTimeout)
}

// waitAll waits until ok holds for every one of objs, read from gvr; what says, in an error,
// what did not happen. It gives up as soon as alive says why the controller is gone.
func waitAll(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource, objs []*unstructured.Unstructured, timeout time.Duration, ok func(*unstructured.Unstructured) bool, what string, alive func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := alive(); err != nil {
			return err
		}
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
