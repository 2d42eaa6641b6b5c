// Command bench measures fed-controller's propagation on a lab (a host and M member API
// servers on this machine) against the limit of those API servers for the same writes, and
// prints the figures as a table, a JSON file under bench/results/ and a last summary line.
// `make bench` runs it; docs/performance.md explains the figures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	cancel()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(1)
	}
}

// config is the bench's flags.
type config struct {
	kind       string
	n, m       int
	inflight   int
	updates    int
	idle       time.Duration
	bin        string
	binary     string
	results    string
	profile    bool
	keepLab    bool
	timeout    time.Duration
	workers    int
	limitRuns  int
	objectSize int
	crds       string
	onlyCosts  bool
	controller stringList
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.kind, "kind", "ConfigMap", "kind of the member objects: ConfigMap or Deployment")
	fs.IntVar(&c.n, "n", 1000, "number of federated objects")
	fs.IntVar(&c.m, "m", 2, "number of member clusters")
	fs.IntVar(&c.inflight, "inflight", 16, "requests the plain writer (and the bench's own applies) keep in flight")
	fs.IntVar(&c.updates, "updates", 100, "number of single-object template changes whose latency is measured")
	fs.DurationVar(&c.idle, "idle", time.Minute, "how long to count writes while nothing changes")
	fs.StringVar(&c.bin, "bin", "bin", "directory with the lab binaries and fed-controller (make lab-tools build)")
	fs.StringVar(&c.binary, "controller", "", "the fed-controller binary; empty means fed-controller in -bin")
	fs.StringVar(&c.results, "results", "bench/results", "directory for the JSON result (and the profiles)")
	fs.BoolVar(&c.profile, "profile", false, "take fed-controller's heap profile before converge, half way and at its end, and its CPU profile over converge, into the results directory")
	fs.BoolVar(&c.keepLab, "keep-lab", false, "leave the lab and fed-controller running at the end, for a look with kubectl")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "time limit of each phase")
	fs.IntVar(&c.limitRuns, "limit-runs", 2, "how many times the plain writer runs; the fastest run is the limit")
	fs.IntVar(&c.workers, "workers", 0, "sync workers per type, set in the KubeFedConfig (syncController.maxConcurrentReconciles) before fed-controller starts; 0 leaves fed-controller's default")
	fs.IntVar(&c.objectSize, "object-size", defaultObjectSize, "bytes of data in each ConfigMap (ConfigMap only), to measure how memory grows with object size")
	fs.StringVar(&c.crds, "crds", "", "a YAML file of CustomResourceDefinitions applied over the installed ones before the first phase, to measure other schemas (such as KubeFed's)")
	fs.BoolVar(&c.onlyCosts, "only-request-costs", false, "measure only what each kind of request costs the API servers (the first phase), without fed-controller")
	fs.Var(&c.controller, "controller-arg", "extra fed-controller flag, such as --member-kube-api-qps=100 (repeatable); the bench measures the defaults without it")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if _, ok := kinds[c.kind]; !ok {
		return nil, fmt.Errorf("-kind must be ConfigMap or Deployment, not %q", c.kind)
	}
	switch {
	case c.n < 1:
		return nil, errors.New("-n must be at least 1")
	case c.m < 1 || c.m > 20:
		return nil, errors.New("-m must be between 1 and 20")
	case c.inflight < 1:
		return nil, errors.New("-inflight must be at least 1")
	case c.updates < 0 || c.updates > c.n:
		return nil, errors.New("-updates must be between 0 and -n")
	case c.idle < 0:
		return nil, errors.New("-idle must not be negative")
	case c.limitRuns < 1:
		return nil, errors.New("-limit-runs must be at least 1")
	case c.objectSize < 1 || c.objectSize > 512*1024:
		return nil, errors.New("-object-size must be between 1 and 524288 bytes")
	case c.objectSize != defaultObjectSize && c.kind != "ConfigMap":
		return nil, errors.New("-object-size applies to -kind ConfigMap only")
	case c.workers < 0:
		return nil, errors.New("-workers must not be negative")
	}
	abs, err := filepath.Abs(c.bin)
	if err != nil {
		return nil, err
	}
	c.bin = abs
	if c.binary == "" {
		c.binary = filepath.Join(c.bin, "fed-controller")
	}
	return c, nil
}

func run(ctx context.Context, args []string) error {
	c, err := parseFlags(args)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.results, 0o750); err != nil {
		return err
	}
	b, err := newBench(ctx, c)
	if err != nil {
		return err
	}
	defer b.close()
	res, err := b.run(ctx)
	if err != nil {
		if res != nil {
			// What the phases before the failure measured, the peak RSS among it.
			if path, saveErr := res.Save(c.results); saveErr != nil {
				fmt.Fprintln(os.Stderr, "the failed run's result was not saved:", saveErr)
			} else {
				fmt.Println("result of the failed run:", path)
			}
		}
		return err
	}
	if err := res.WriteTable(os.Stdout); err != nil {
		return err
	}
	path, err := res.Save(c.results)
	if err != nil {
		return err
	}
	fmt.Println("result:", path)
	fmt.Println(res.Summary())
	return nil
}
