package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/fedplane/fedplane/e2e/framework"
)

// compatSkip names the specs that test KubeFed's internals rather than its behaviour: they
// call its Go VersionManager, start its in-memory controllers, or run its controller-manager
// binary or admission webhook.
const compatSkip = `VersionManager|Scheduler Manager|FTC controller|Simulated Scale|NOT_READY|Leader Elector|\bDefault\b`

var kubeFedClusterResource = schema.GroupVersionResource{Group: "core.kubefed.io", Version: "v1beta1", Resource: "kubefedclusters"}

// compat builds KubeFed's end-to-end suite (cached by the hash of its source), starts a lab
// with the host joined to itself and one member, runs fed-controller and the suite against it,
// and prints one line per spec and the counts.
func compat(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("compat", flag.ExitOnError)
	src := fs.String("src", "../shared/kubefed-e2e/src", "KubeFed's source tree, with its test/e2e suite")
	dir := fs.String("dir", ".lab-compat", "the lab's state directory; the suite's log goes in it")
	bin := fs.String("bin", "bin", "directory with the lab's binaries, fed-controller and fedctl")
	cacheDir := fs.String("cache", filepath.Join(userCacheDir(), "fedplane", "kubefed-e2e"), "where the built suite is cached, by the hash of its source")
	member := fs.String("member", "cce", "the member cluster besides the host")
	focus := fs.String("focus", "", "run only the specs whose text matches this regular expression")
	skip := fs.String("skip", compatSkip, "skip the specs whose text matches this regular expression")
	timeout := fs.Duration("timeout", 40*time.Minute, "how long the suite may run")
	keep := fs.Bool("keep", false, "leave the lab and fed-controller running afterwards")
	_ = fs.Parse(args)

	started := time.Now()
	suite, err := buildSuite(ctx, *src, *cacheDir)
	if err != nil {
		return err
	}
	labDir := filepath.Join(*dir, "lab")
	controllerLog := filepath.Join(*dir, "fed-controller.log")
	if framework.Running(labDir) {
		if err := framework.Down(labDir); err != nil {
			return fmt.Errorf("failed to stop the previous lab in %s: %w", labDir, err)
		}
	}
	_ = os.RemoveAll(*dir)
	bins, err := framework.BinariesIn(*bin)
	if err != nil {
		return err
	}
	l, err := framework.Start(ctx, framework.Options{
		Dir: labDir, Binaries: bins, Members: []string{*member}, Detach: true,
		Logf: func(format string, a ...any) { fmt.Printf(format+"\n", a...) },
	})
	if err != nil {
		return err
	}
	defer func() {
		// fed-controller's log outlives the lab.
		if b, err := os.ReadFile(filepath.Join(labDir, "fedplane", "fed-controller.log")); err == nil {
			_ = os.WriteFile(controllerLog, b, 0o600)
		}
		if *keep {
			fmt.Printf("compat: the lab keeps running: kubeconfig %s; stop it with go run ./hack/lab down --dir %s\n", l.KubeconfigPath(), labDir)
			return
		}
		if err := framework.Down(labDir); err != nil {
			fmt.Fprintln(os.Stderr, "compat: failed to stop the lab:", err)
		}
	}()
	cfg := l.Host().RESTConfig()
	if err := framework.Install(ctx, cfg); err != nil {
		return fmt.Errorf("failed to install fedplane's API into the host: %w", err)
	}
	kubeconfig := l.KubeconfigPath()
	if _, err := startController(ctx, labDir, *bin, kubeconfig, framework.HostName, time.Minute); err != nil {
		return err
	}
	for _, c := range []string{framework.HostName, *member} {
		// The suite acts in the members with the joined identity, as KubeFed's join granted
		// it: it creates CRDs there.
		cmd := exec.CommandContext(ctx, filepath.Join(*bin, "fedctl"), "join", c, "--cluster-context", c,
			"--host-cluster-context", framework.HostName, "--kubeconfig", kubeconfig, "--broad-role")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("fedctl join %s: %w", c, err)
		}
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := waitClustersReady(ctx, dyn, 2, 2*time.Minute); err != nil {
		return fmt.Errorf("%w; see %s", err, controllerLog)
	}
	fmt.Printf("compat: lab, fed-controller and joins ready in %s; running the suite\n", time.Since(started).Round(time.Second))

	suiteArgs := []string{"-kubeconfig=" + kubeconfig, "-context=" + framework.HostName, "-in-memory-controllers=false",
		"-single-call-timeout=60s", "-wait-for-finalization=false", "-ginkgo.v", "-ginkgo.noColor",
		"-ginkgo.skip=" + *skip, "-test.timeout=" + timeout.String()}
	if *focus != "" {
		suiteArgs = append(suiteArgs, "-ginkgo.focus="+*focus)
	}
	logPath := filepath.Join(*dir, "compat.log")
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer func() { _ = log.Close() }()
	runStarted := time.Now()
	cmd := exec.CommandContext(ctx, suite, suiteArgs...)
	cmd.Dir = filepath.Dir(suite)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("failed to start the suite: %w", err)
	}
	results, summary, scanErr := parseGinkgo(io.TeeReader(out, log), func(r specResult) {
		fmt.Printf("%-4s %s (%s)\n", r.Outcome, r.Name, r.Duration)
	})
	runErr := cmd.Wait()
	if scanErr != nil {
		return scanErr
	}
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Outcome]++
	}
	fmt.Printf("\ncompat: %d passed, %d failed, %d skipped themselves, of %d specs run; suite %s, total %s\n",
		counts[outcomePass], counts[outcomeFail], counts[outcomeSkip], len(results),
		time.Since(runStarted).Round(time.Second), time.Since(started).Round(time.Second))
	fmt.Printf("compat: the suite's log is %s, fed-controller's %s\n", logPath, controllerLog)
	if summary.Found && (summary.Passed != counts[outcomePass] || summary.Failed != counts[outcomeFail]) {
		return fmt.Errorf("the suite counts %d passed and %d failed, but %d passed and %d failed were read from its report: see %s",
			summary.Passed, summary.Failed, counts[outcomePass], counts[outcomeFail], logPath)
	}
	if !summary.Found {
		return fmt.Errorf("the suite ended without its summary (%w): see %s", runErr, logPath)
	}
	if counts[outcomeFail] > 0 {
		return fmt.Errorf("%d of %d specs failed", counts[outcomeFail], len(results))
	}
	if runErr != nil {
		return fmt.Errorf("the suite failed: %w", runErr)
	}
	if len(results) == 0 {
		return errors.New("the suite ran no spec")
	}
	return nil
}

// userCacheDir is the user's cache directory, or the temporary directory without one.
func userCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return d
	}
	return os.TempDir()
}

// buildSuite returns the suite's test binary for src, building it the first time for each
// version of the source. The source is copied first, since it may be read-only.
func buildSuite(ctx context.Context, src, cacheDir string) (string, error) {
	hash, err := treeHash(src)
	if err != nil {
		return "", fmt.Errorf("failed to read the suite's source %s: %w", src, err)
	}
	out := filepath.Join(cacheDir, hash[:16], "kubefed-e2e.test")
	if _, err := os.Stat(out); err == nil {
		fmt.Println("compat: the suite is built already:", out)
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp("", "kubefed-e2e-src-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(work) }()
	if err := os.CopyFS(work, os.DirFS(src)); err != nil {
		return "", fmt.Errorf("failed to copy the suite's source: %w", err)
	}
	fmt.Println("compat: building KubeFed's e2e suite (about 2 minutes the first time)")
	started := time.Now()
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", tmp, "./test/e2e")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("failed to build the suite: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	fmt.Printf("compat: built in %s: %s\n", time.Since(started).Round(time.Second), out)
	return out, nil
}

// treeHash hashes the names and contents of every regular file under root, in order.
func treeHash(root string) (string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		_, _ = fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(b))
		_, _ = h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// waitClustersReady waits until n KubeFedClusters report Ready=True.
func waitClustersReady(ctx context.Context, dyn dynamic.Interface, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		list, err := dyn.Resource(kubeFedClusterResource).Namespace("kube-federation-system").List(ctx, metav1.ListOptions{})
		ready := 0
		if err == nil {
			for i := range list.Items {
				if condition(&list.Items[i], "Ready") {
					ready++
				}
			}
			if ready >= n {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d KubeFedClusters became Ready within %s", ready, n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// The outcomes of a spec.
const (
	outcomePass = "PASS"
	outcomeFail = "FAIL"
	outcomeSkip = "SKIP"
)

// specResult is one spec's outcome, as Ginkgo's verbose report gives it.
type specResult struct {
	Name    string
	Outcome string
	// Duration is the time from the spec's first line to its outcome, as read.
	Duration time.Duration
}

var (
	ginkgoSeparator = regexp.MustCompile(`^-{30}$`)
	ginkgoLocation  = regexp.MustCompile(`^\s*\S+\.go:\d+\s*$`)
	ginkgoLogLine   = regexp.MustCompile(`^(STEP:|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|[IWEF]\d{4} )`)
	ginkgoOutcome   = regexp.MustCompile(`^(•|S \[SKIPPING\]|S+$)( (Failure|Panic))?`)
	ginkgoHeader    = regexp.MustCompile(`^Will run \d+ of \d+ specs`)
	ginkgoCounts    = regexp.MustCompile(`-- (\d+) Passed \| (\d+) Failed \|`)
)

// ginkgoSummary is the suite's own count of the specs that passed and failed.
type ginkgoSummary struct {
	Found          bool
	Passed, Failed int
}

// parseGinkgo reads the verbose report of Ginkgo v1 (-ginkgo.v). A spec's block starts after
// the "Will run" header or a line of dashes, with the spec's texts and locations, and ends with
// its outcome ("•", "• Failure [...]", "S [SKIPPING] [...]"). Specs that the focus or skip
// filtered out print only "S" and are not counted. Each result is also passed to report as it
// is read. The summary is the suite's last line of counts, to check the parse against.
func parseGinkgo(r io.Reader, report func(specResult)) ([]specResult, ginkgoSummary, error) {
	const (
		between   = iota // after an outcome: failure details, until a separator
		expecting        // a spec's texts come next, after any log lines of setup
		naming           // reading the spec's texts
		running          // the spec runs, until its outcome
	)
	var results []specResult
	var summary ginkgoSummary
	var name []string
	var began time.Time
	state := between
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := ginkgoCounts.FindStringSubmatch(line); m != nil {
			summary.Found = true
			summary.Passed, _ = strconv.Atoi(m[1])
			summary.Failed, _ = strconv.Atoi(m[2])
			continue
		}
		if ginkgoSeparator.MatchString(line) || ginkgoHeader.MatchString(line) {
			name, state = nil, expecting
			continue
		}
		blank := strings.TrimSpace(line) == ""
		outcome := ginkgoOutcome.FindStringSubmatch(line)
		if outcome != nil && strings.HasPrefix(outcome[1], "S") && outcome[1] != "S [SKIPPING]" {
			// A row of specs filtered out.
			outcome = nil
			if state == expecting {
				continue
			}
		}
		switch state {
		case between:
			continue
		case expecting:
			if blank || ginkgoLogLine.MatchString(line) || ginkgoLocation.MatchString(line) || outcome != nil {
				continue
			}
			name, state, began = []string{strings.TrimSpace(line)}, naming, time.Now()
			continue
		case naming:
			switch {
			case outcome != nil:
			case ginkgoLocation.MatchString(line):
				continue
			case blank || ginkgoLogLine.MatchString(line):
				state = running
				continue
			default:
				name = append(name, strings.TrimSpace(line))
				continue
			}
		case running:
			if outcome == nil {
				continue
			}
		}
		res := specResult{Name: strings.Join(name, " "), Outcome: outcomePass, Duration: time.Since(began).Round(100 * time.Millisecond)}
		switch {
		case outcome[1] == "S [SKIPPING]":
			res.Outcome = outcomeSkip
		case outcome[3] != "":
			res.Outcome = outcomeFail
		}
		results = append(results, res)
		report(res)
		name, state = nil, between
	}
	return results, summary, sc.Err()
}
