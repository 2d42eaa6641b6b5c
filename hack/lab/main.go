// Command lab starts and stops the local lab and installs fedplane's API into a cluster. The
// Makefile's lab, lab-down, install and demo targets run it.
//
//	lab up      --dir .lab --bin bin --clusters "local cce"
//	lab down    --dir .lab
//	lab install --kubeconfig .lab/kubeconfig --context host
//	lab demo    --kubeconfig .lab/kubeconfig --fixtures ../shared/fixtures
//	lab compat  --src ../shared/kubefed-e2e/src --dir .lab-compat
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fedplane/fedplane/e2e/framework"
)

func main() {
	os.Exit(run())
}

func run() int {
	if len(os.Args) < 2 {
		usage()
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	var err error
	switch os.Args[1] {
	case "up":
		err = up(ctx, os.Args[2:])
	case "down":
		err = down(os.Args[2:])
	case "install":
		err = install(ctx, os.Args[2:])
	case "demo":
		err = demo(ctx, os.Args[2:])
	case "compat":
		err = compat(ctx, os.Args[2:])
	case "-h", "--help", "help":
		usage()
		return 0
	default:
		fmt.Fprintf(os.Stderr, "lab: unknown command %q\n", os.Args[1])
		usage()
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		return 1
	}
	return 0
}

func usage() {
	fmt.Fprint(os.Stderr, `Usage: lab COMMAND [flags]

Commands:
  up       start a host and member clusters on loopback (make lab)
  down     stop every lab process and remove the lab's state (make lab-down)
  install  install the CRDs and default FederatedTypeConfigs into a cluster (make install)
  demo     apply the seed manifests to the host and show the result (make demo)
  compat   run KubeFed's own end-to-end suite against fed-controller on a new lab (make compat)

Run "lab COMMAND -h" for a command's flags.
`)
}

func up(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	dir := fs.String("dir", ".lab", "directory for the lab's state: certificates, logs, pid files, etcd data, kubeconfig")
	bin := fs.String("bin", "bin", "directory with etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and kwok-stages")
	clusters := fs.String("clusters", "local cce", "space-separated names of the member clusters")
	nodePods := fs.Int("node-pods", 110, "pod capacity of each member's fake node")
	_ = fs.Parse(args)

	if framework.Running(*dir) {
		fmt.Printf("A lab is already running in %s (kubeconfig %s/kubeconfig). Run `make lab-down` to stop it.\n", *dir, *dir)
		return nil
	}
	bins, err := framework.BinariesIn(*bin)
	if err != nil {
		return err
	}
	started := time.Now()
	l, err := framework.Start(ctx, framework.Options{
		Dir:      *dir,
		Binaries: bins,
		Members:  strings.Fields(*clusters),
		Detach:   true,
		NodePods: *nodePods,
		Logf:     func(format string, a ...any) { fmt.Printf(format+"\n", a...) },
	})
	if err != nil {
		return err
	}
	fmt.Printf("Lab up in %s: clusters %s.\n", time.Since(started).Round(100*time.Millisecond), strings.Join(l.Names(), ", "))
	fmt.Printf("  kubectl --kubeconfig %s --context %s get nodes\n", l.KubeconfigPath(), l.Names()[len(l.Names())-1])
	fmt.Println("Logs and pid files are under", l.Dir(), "; stop it with `make lab-down`.")
	return nil
}

func down(args []string) error {
	fs := flag.NewFlagSet("down", flag.ExitOnError)
	dir := fs.String("dir", ".lab", "the lab's state directory")
	_ = fs.Parse(args)
	if _, err := os.Stat(*dir); os.IsNotExist(err) {
		fmt.Println("No lab in", *dir)
		return nil
	}
	if err := framework.Down(*dir); err != nil {
		return err
	}
	fmt.Println("Lab stopped and", *dir, "removed.")
	return nil
}
