package framework

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one lab program: its command line, where it logs and where its pid is recorded.
type process struct {
	name    string // component name, also the base name of its log and pid files
	dir     string // directory of its log and pid files
	path    string // binary
	args    []string
	detach  bool // outlive the Go process that started it
	cmd     *exec.Cmd
	exited  chan struct{} // closed when an attached process has been reaped
	pid     int
	logFile *os.File
}

func (p *process) pidFile() string { return filepath.Join(p.dir, p.name+".pid") }

func (p *process) logPath() string { return filepath.Join(p.dir, p.name+".log") }

// start runs the process with its output appended to its log file and records its pid.
func (p *process) start() error {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return fmt.Errorf("failed to create %s: %w", p.dir, err)
	}
	logFile, err := os.OpenFile(p.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("failed to open log of %s: %w", p.name, err)
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Dir = p.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if p.detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		// Attached processes die with the test binary, even when it is killed.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("failed to start %s: %w", p.name, err)
	}
	p.cmd, p.pid, p.logFile = cmd, cmd.Process.Pid, logFile
	p.exited = make(chan struct{})
	if p.detach {
		// The process is reparented when this program exits; release it now.
		_ = cmd.Process.Release()
		_ = logFile.Close()
		close(p.exited)
	} else {
		go func(exited chan struct{}) {
			_ = cmd.Wait()
			_ = logFile.Close()
			close(exited)
		}(p.exited)
	}
	if err := os.WriteFile(p.pidFile(), []byte(strconv.Itoa(p.pid)+"\n"), 0o600); err != nil {
		return fmt.Errorf("failed to write pid of %s: %w", p.name, err)
	}
	return nil
}

// signal sends sig to the process.
func (p *process) signal(sig syscall.Signal) error {
	if p.pid == 0 {
		return fmt.Errorf("%s is not running", p.name)
	}
	if err := syscall.Kill(p.pid, sig); err != nil {
		return fmt.Errorf("failed to send %s to %s (pid %d): %w", sig, p.name, p.pid, err)
	}
	return nil
}

// pause sends SIGSTOP to the process and waits, for up to 5 s, until every one of its threads
// has stopped: the signal is delivered to each thread in its own time, and a thread that still
// runs may answer a request meanwhile.
func (p *process) pause() error {
	if err := p.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	for !p.allThreadsStopped() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s (pid %d) did not stop within 5s of SIGSTOP", p.name, p.pid)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// allThreadsStopped tells whether every thread of the process is stopped (state T), as
// /proc/PID/task/TID/stat says. It is true when /proc cannot tell.
func (p *process) allThreadsStopped() bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", p.pid))
	if err != nil {
		return true
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", p.pid, task.Name()))
		if err != nil {
			continue
		}
		// The state follows the command, which is in parentheses and may hold spaces.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 >= len(b) {
			continue
		}
		if state := b[i+2]; state != 'T' && state != 't' {
			return false
		}
	}
	return true
}

// running reports whether the process is alive (not exited, not a zombie).
func (p *process) running() bool {
	if p.pid == 0 {
		return false
	}
	if !p.detach {
		select {
		case <-p.exited:
			return false
		default:
			return true
		}
	}
	return pidAlive(p.pid, p.path)
}

// stop ends the process: SIGTERM (and SIGCONT, in case it is stopped), then SIGKILL after grace.
func (p *process) stop(grace time.Duration) error {
	if !p.running() {
		p.pid = 0
		_ = os.Remove(p.pidFile())
		return nil
	}
	_ = syscall.Kill(p.pid, syscall.SIGTERM)
	_ = syscall.Kill(p.pid, syscall.SIGCONT)
	if !p.waitExit(grace) {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
		if !p.waitExit(10 * time.Second) {
			return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, p.pid)
		}
	}
	p.pid = 0
	_ = os.Remove(p.pidFile())
	return nil
}

// kill ends the process at once with SIGKILL and waits until it is gone.
func (p *process) kill() error {
	if !p.running() {
		return fmt.Errorf("%s is not running", p.name)
	}
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	if !p.waitExit(10 * time.Second) {
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, p.pid)
	}
	p.pid = 0
	_ = os.Remove(p.pidFile())
	return nil
}

func (p *process) waitExit(d time.Duration) bool {
	if !p.detach {
		select {
		case <-p.exited:
			return true
		case <-time.After(d):
			return false
		}
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !pidAlive(p.pid, p.path) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return !pidAlive(p.pid, p.path)
}

// ProcessRuns reports whether pid is a live process whose executable has the base name of
// binary; a reused pid, or a zombie, does not run.
func ProcessRuns(pid int, binary string) bool { return pidAlive(pid, binary) }

// pidAlive reports whether pid is a live process whose executable has the base name of binary
// (so that a reused pid is never taken for a lab process). Zombies count as gone.
func pidAlive(pid int, binary string) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	return filepath.Base(strings.TrimSuffix(exe, " (deleted)")) == filepath.Base(binary)
}

// stopPidFile ends the process recorded in pidFile, if it still runs binary, and removes the file.
func stopPidFile(pidFile, binary string, grace time.Duration) error {
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", pidFile, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("bad pid in %s: %w", pidFile, err)
	}
	p := &process{name: strings.TrimSuffix(filepath.Base(pidFile), ".pid"), dir: filepath.Dir(pidFile), path: binary, pid: pid, detach: true}
	return p.stop(grace)
}
