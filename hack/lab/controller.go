package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fedplane/fedplane/e2e/framework"
)

// logTailLines is how many of fed-controller's last log lines a failure shows.
const logTailLines = 20

// controllerProcess is the fed-controller that the demo runs in the background.
type controllerProcess struct {
	pid int
	// binary is the base name of its executable.
	binary string
	// addresses are where it serves its metrics and health probes.
	addresses controllerAddresses
	logPath   string
	// exited is closed once a process that this run started ends, and err is then what its
	// wait returned; both are nil for a process that an earlier run started.
	exited chan struct{}
	err    error
}

// controllerAddresses are the addresses of fed-controller's endpoints, kept beside its pid
// file so that a later run finds them.
type controllerAddresses struct {
	Metrics string `json:"metrics"`
	Health  string `json:"health"`
}

// The files that the demo keeps in fed-controller's state directory.
const (
	pidFileName       = "fed-controller.pid"
	addressesFileName = "fed-controller.addresses"
	logFileName       = "fed-controller.log"
)

// freeAddresses returns n distinct loopback addresses whose ports were free a moment ago: the
// kernel picks them, so that labs that run at once on one machine do not collide.
func freeAddresses(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("failed to find a free port: %w", err)
		}
		// Held open until all are chosen, so that the kernel gives n different ports.
		defer func() { _ = ln.Close() }()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// launchController starts binary in the background, detached, with its metrics and health
// probes on free ports and the flags args after those, logging into state; it records the
// pid and the addresses there and waits until /readyz answers ok. A process that exits, or
// is not ready within readyTimeout, is an error that shows the last lines of its log; one
// still running then is stopped.
func launchController(ctx context.Context, out io.Writer, binary, state string, args []string, readyTimeout time.Duration) (*controllerProcess, error) {
	addrs, err := freeAddresses(2)
	if err != nil {
		return nil, err
	}
	p := &controllerProcess{binary: filepath.Base(binary), addresses: controllerAddresses{Metrics: addrs[0], Health: addrs[1]}, logPath: filepath.Join(state, logFileName)}
	log, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = log.Close() }()
	cmd := exec.Command(binary, append([]string{"--metrics-bind-address", p.addresses.Metrics, "--health-probe-bind-address", p.addresses.Health}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	// A process group of its own: it outlives the demo, and make's Ctrl-C does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start fed-controller: %w", err)
	}
	p.pid, p.exited = cmd.Process.Pid, make(chan struct{})
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	if err := p.save(state); err != nil {
		p.stop()
		return nil, err
	}
	fmt.Fprintf(out, "fed-controller started, pid %d, log %s, metrics https://%s/metrics, health http://%s/readyz\n", p.pid, p.logPath, p.addresses.Metrics, p.addresses.Health)
	started := time.Now()
	if err := p.waitReady(ctx, readyTimeout); err != nil {
		p.stop()
		_ = os.Remove(filepath.Join(state, pidFileName))
		return nil, p.failure(err)
	}
	fmt.Fprintf(out, "fed-controller ready after %s\n", time.Since(started).Round(100*time.Millisecond))
	return p, nil
}

// save records the process's pid and addresses in state.
func (p *controllerProcess) save(state string) error {
	b, err := json.Marshal(p.addresses)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(state, addressesFileName), b, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(state, pidFileName), []byte(strconv.Itoa(p.pid)), 0o600)
}

// runningController returns the fed-controller that an earlier run recorded in state, when
// it still runs the executable named binary.
func runningController(state, binary string) (*controllerProcess, bool) {
	b, err := os.ReadFile(filepath.Join(state, pidFileName))
	if err != nil {
		return nil, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || !framework.ProcessRuns(pid, binary) {
		return nil, false
	}
	p := &controllerProcess{pid: pid, binary: binary, logPath: filepath.Join(state, logFileName)}
	if b, err := os.ReadFile(filepath.Join(state, addressesFileName)); err == nil {
		_ = json.Unmarshal(b, &p.addresses)
	}
	return p, true
}

// alive says why the process no longer runs, or nil while it does.
func (p *controllerProcess) alive() error {
	if p.exited == nil {
		if !framework.ProcessRuns(p.pid, p.binary) {
			return fmt.Errorf("fed-controller (pid %d) is gone", p.pid)
		}
		return nil
	}
	select {
	case <-p.exited:
		if p.err == nil {
			return fmt.Errorf("fed-controller (pid %d) exited (exit status 0)", p.pid)
		}
		return fmt.Errorf("fed-controller (pid %d) exited (%w)", p.pid, p.err)
	default:
		return nil
	}
}

// waitReady waits until the process's /readyz answers ok, for at most timeout; it gives up at
// once when the process exits.
func (p *controllerProcess) waitReady(ctx context.Context, timeout time.Duration) error {
	if p.addresses.Health == "" {
		return nil
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		if err := p.alive(); err != nil {
			return fmt.Errorf("%w before it was ready", err)
		}
		if ready(ctx, client, "http://"+p.addresses.Health+"/readyz") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fed-controller (pid %d) was not ready within %s: http://%s/readyz did not answer ok", p.pid, timeout, p.addresses.Health)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.exited:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ready tells whether url answers 200.
func ready(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop ends a process that this run started: SIGTERM to its group, then SIGKILL after a
// grace period.
func (p *controllerProcess) stop() {
	if p.exited == nil {
		return
	}
	_ = syscall.Kill(-p.pid, syscall.SIGTERM)
	select {
	case <-p.exited:
		return
	case <-time.After(5 * time.Second):
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	<-p.exited
}

// failure completes err with the last lines of the process's log.
func (p *controllerProcess) failure(err error) error {
	return fmt.Errorf("%w; the last lines of %s:\n%s", err, p.logPath, strings.TrimRight(tail(p.logPath, logTailLines), "\n"))
}

// tail returns the last n lines of the file at path, indented; it reads at most the last
// 64 KiB of it.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "  (" + err.Error() + ")\n"
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "  (empty)\n"
	}
	if len(b) > 64<<10 {
		b = b[len(b)-64<<10:]
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString("  " + l + "\n")
	}
	return buf.String()
}
