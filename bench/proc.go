package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's CPU times; it is 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// cpuSeconds reads a process's user plus system CPU time from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a /proc/<pid>/stat line. The
// command name, field 2, may hold spaces: fields are counted after its closing parenthesis.
func parseStatCPU(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	utime, err := strconv.ParseFloat(f[11], 64)
	if err != nil {
		return 0, err
	}
	stime, err := strconv.ParseFloat(f[12], 64)
	if err != nil {
		return 0, err
	}
	return (utime + stime) / clockTicks, nil
}

// memoryMB reads a process's current and peak resident set size from /proc/<pid>/status.
func memoryMB(pid int) (rss, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStatusMemory(string(b))
}

// parseStatusMemory reads VmRSS and VmHWM, in kB, from /proc/<pid>/status and returns MB.
func parseStatusMemory(status string) (rss, peak float64, err error) {
	var foundRSS, foundPeak bool
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(value)
		if len(f) == 0 {
			continue
		}
		kb, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmRSS":
			rss, foundRSS = kb/1024, true
		case "VmHWM":
			peak, foundPeak = kb/1024, true
		}
	}
	if !foundRSS || !foundPeak {
		return 0, 0, fmt.Errorf("no VmRSS or VmHWM in /proc status")
	}
	return rss, peak, nil
}

// machine describes this machine.
func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					m.MemoryGB = round(kb/1024/1024, 1)
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return m
}

// fedplaneVersion is the checkout's commit, with -dirty when it has changes.
func fedplaneVersion() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty", "--abbrev=12").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// labCPU returns the CPU seconds so far of every process whose command line mentions dir
// (the lab's processes and fed-controller), summed by program name.
func labCPU(dir string) map[string]float64 {
	out := map[string]float64{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.Contains(string(cmdline), dir) {
			continue
		}
		cpu, err := cpuSeconds(pid)
		if err != nil {
			continue
		}
		prog := strings.SplitN(string(cmdline), "\x00", 2)[0]
		out[prog[strings.LastIndexByte(prog, '/')+1:]] += cpu
	}
	return out
}

// cpuShares returns the CPU seconds each program used between two labCPU readings, as sorted
// "program: seconds" strings, with the bench's own CPU time added.
func cpuShares(before, after map[string]float64, benchSeconds float64) []string {
	var out []string
	for k, v := range after {
		out = append(out, fmt.Sprintf("%s: %.1fs", k, v-before[k]))
	}
	out = append(out, fmt.Sprintf("bench: %.1fs", benchSeconds))
	sort.Strings(out)
	return out
}

// selfCPU is the bench's own CPU seconds so far.
func selfCPU() float64 {
	cpu, err := cpuSeconds(os.Getpid())
	if err != nil {
		return 0
	}
	return cpu
}
