package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeControllerEnv, when set, makes the test binary a fake fed-controller that behaves as
// the variable says: exit, hang or ready.
const fakeControllerEnv = "FEDPLANE_FAKE_CONTROLLER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeControllerEnv); mode != "" {
		os.Exit(fakeController(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeController plays fed-controller: "exit" fails at once as on a busy port, "hang" runs
// without ever serving /readyz, and "ready" serves /readyz ok on its health probe address.
func fakeController(mode string, args []string) int {
	health := ""
	for i, a := range args {
		if a == "--health-probe-bind-address" && i+1 < len(args) {
			health = args[i+1]
		}
	}
	fmt.Println("fake fed-controller starting with", strings.Join(args, " "))
	switch mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "fed-controller: failed to start the manager: listen tcp 127.0.0.1:8080: bind: address already in use")
		return 1
	case "ready":
		ln, err := net.Listen("tcp", health)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
		go func() { _ = http.Serve(ln, mux) }() //nolint:gosec // A test server on loopback that lives as long as the test.
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	<-stop
	return 0
}

// fakeControllerBinary writes a fed-controller that runs this test binary in mode.
func fakeControllerBinary(t *testing.T, mode string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fed-controller")
	script := fmt.Sprintf("#!/bin/sh\nexec env %s=%s %q \"$@\"\n", fakeControllerEnv, mode, self)
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

var startedPid = regexp.MustCompile(`fed-controller started, pid (-?\d+),`)

// printedPid reads the pid that launchController printed.
func printedPid(t *testing.T, out string) int {
	t.Helper()
	m := startedPid.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no pid in the output %q", out)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

func TestFreeAddressesAreDistinctLoopbackPortsNotInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = busy.Close() }()
	addrs, err := freeAddresses(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			t.Errorf("%s was chosen twice in %v", a, addrs)
		}
		seen[a] = true
		if a == busy.Addr().String() {
			t.Errorf("%s is in use, and was chosen", a)
		}
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("%s is not free: %v", a, err)
			continue
		}
		_ = ln.Close()
		if host, _, _ := net.SplitHostPort(a); host != "127.0.0.1" {
			t.Errorf("%s is not on loopback", a)
		}
	}
}

func TestLaunchControllerWaitsForReadyzAndRecordsTheRealPid(t *testing.T) {
	state := t.TempDir()
	var out bytes.Buffer
	p, err := launchController(t.Context(), &out, fakeControllerBinary(t, "ready"), state, []string{"--kubeconfig", "k"}, 30*time.Second)
	if err != nil {
		t.Fatalf("launchController() error = %v", err)
	}
	t.Cleanup(p.stop)
	t.Log(strings.TrimSpace(out.String()))
	if got := printedPid(t, out.String()); got != p.pid || got <= 0 {
		t.Errorf("printed pid %d, want the process's pid %d", got, p.pid)
	}
	if err := syscall.Kill(p.pid, 0); err != nil {
		t.Errorf("pid %d does not run: %v", p.pid, err)
	}
	if !strings.Contains(out.String(), "https://"+p.addresses.Metrics+"/metrics") || !strings.Contains(out.String(), "http://"+p.addresses.Health+"/readyz") {
		t.Errorf("the output %q does not show the addresses %+v", out.String(), p.addresses)
	}
	if p.addresses.Metrics == p.addresses.Health {
		t.Errorf("metrics and health probes share %s", p.addresses.Metrics)
	}
	// A later run finds it, with its addresses.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	again, ok := runningController(state, filepath.Base(self))
	if !ok || again.pid != p.pid || again.addresses != p.addresses {
		t.Fatalf("runningController() = %+v, %v; want pid %d at %+v", again, ok, p.pid, p.addresses)
	}
	if err := again.waitReady(t.Context(), 5*time.Second); err != nil {
		t.Errorf("waitReady() of the running controller: %v", err)
	}
}

func TestLaunchControllerFailsWithTheLogWhenTheControllerExits(t *testing.T) {
	state := t.TempDir()
	var out bytes.Buffer
	start := time.Now()
	_, err := launchController(t.Context(), &out, fakeControllerBinary(t, "exit"), state, nil, 30*time.Second)
	if err == nil {
		t.Fatal("launchController() of a controller that exits at once succeeded")
	}
	t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
	for _, want := range []string{"exited (exit status 1) before it was ready", "bind: address already in use", filepath.Join(state, logFileName)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the exit was noticed after %v, want at once rather than at the 30s ready timeout", took)
	}
	if _, ok := runningController(state, "fed-controller"); ok {
		t.Error("the exited controller is still recorded as running")
	}
}

func TestLaunchControllerStopsAControllerThatIsNeverReady(t *testing.T) {
	state := t.TempDir()
	var out bytes.Buffer
	_, err := launchController(t.Context(), &out, fakeControllerBinary(t, "hang"), state, nil, time.Second)
	if err == nil {
		t.Fatal("launchController() of a controller that never serves /readyz succeeded")
	}
	t.Log(err)
	for _, want := range []string{"was not ready within 1s", "fake fed-controller starting with --metrics-bind-address"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	pid := printedPid(t, out.String())
	if err := syscall.Kill(pid, 0); err == nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the controller that was never ready (pid %d) still runs", pid)
	}
	if _, err := os.Stat(filepath.Join(state, pidFileName)); !os.IsNotExist(err) {
		t.Errorf("its pid file is still there: %v", err)
	}
}

func TestAliveSaysWhenAStartedControllerDies(t *testing.T) {
	var out bytes.Buffer
	p, err := launchController(t.Context(), &out, fakeControllerBinary(t, "ready"), t.TempDir(), nil, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	if err := p.alive(); err != nil {
		t.Fatalf("alive() of a running controller = %v", err)
	}
	if err := syscall.Kill(p.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.alive() == nil {
		if time.Now().After(deadline) {
			t.Fatal("alive() still says nothing 10s after the controller was killed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.alive(); !strings.Contains(err.Error(), "signal: killed") {
		t.Errorf("alive() = %v, want it to say how the controller ended", err)
	}
}

func TestTailShowsTheLastLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	got := tail(path, 3)
	if want := "  line 28\n  line 29\n  line 30\n"; got != want {
		t.Errorf("tail() = %q, want %q", got, want)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := tail(path, 3); got != "  (empty)\n" {
		t.Errorf("tail() of an empty log = %q", got)
	}
}
