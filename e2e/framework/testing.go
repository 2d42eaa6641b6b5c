package framework

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Environment variables that `make test` sets for tests that need a lab.
const (
	// EnvBinDir is the directory with the lab binaries.
	EnvBinDir = "FEDPLANE_LAB_BIN"
	// EnvRequired makes a missing lab binary a test failure instead of a skip.
	EnvRequired = "FEDPLANE_LAB_REQUIRED"
)

// errNoBinaries is returned when no lab binaries are configured.
var errNoBinaries = fmt.Errorf("%s is not set: run the lab tests with `make test`", EnvBinDir)

// BinariesFromEnv returns the lab binaries named by FEDPLANE_LAB_BIN.
func BinariesFromEnv() (Binaries, error) {
	dir := os.Getenv(EnvBinDir)
	if dir == "" {
		return Binaries{}, errNoBinaries
	}
	return BinariesIn(dir)
}

// RunWithLab is for TestMain: it starts a lab with opts (binaries from the environment, state in
// a temporary directory), runs the tests with it, stops it and returns the exit code. Without
// binaries the tests still run, and those that call Require skip or fail (see EnvRequired).
func RunWithLab(m *testing.M, opts Options, lab **Lab) int {
	bins, err := BinariesFromEnv()
	if err != nil {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "fedplane-lab-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		return 1
	}
	opts.Dir, opts.Binaries = dir, bins
	opts.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	started := time.Now()
	l, err := Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab failed to start:", err)
		fmt.Fprintln(os.Stderr, "lab state kept in", dir)
		return 1
	}
	fmt.Fprintf(os.Stderr, "lab started in %s\n", time.Since(started).Round(time.Millisecond))
	*lab = l
	code := m.Run()
	if err := l.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "lab failed to stop:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// RunWithLabAndController is RunWithLab for suites that also run fed-controller: with lab
// binaries, it first builds fed-controller from this module and sets *binary to its path.
func RunWithLabAndController(m *testing.M, opts Options, lab **Lab, binary *string) int {
	// The tests' clients log through controller-runtime: to stderr, rather than a warning that
	// no logger was set. Not in RunWithLab: a suite that calls fed-controller's run() in the
	// test process lets it set its own, and only the first logger set counts.
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	if os.Getenv(EnvBinDir) == "" {
		return RunWithLab(m, opts, lab)
	}
	dir, err := os.MkdirTemp("", "fedplane-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if *binary, err = BuildController(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return RunWithLab(m, opts, lab)
}

// Require skips the test when no lab runs (or fails it when FEDPLANE_LAB_REQUIRED is set).
func Require(tb testing.TB, lab *Lab) {
	tb.Helper()
	if lab != nil {
		return
	}
	if os.Getenv(EnvRequired) != "" {
		tb.Fatalf("this test needs a lab: %v", errNoBinaries)
	}
	tb.Skipf("this test needs a lab: %v", errNoBinaries)
}
