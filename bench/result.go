package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one bench run, as written to bench/results/.
type Result struct {
	// Started is when the run began (UTC).
	Started time.Time `json:"started"`
	// Params are the run's parameters.
	Params Params `json:"params"`
	// Machine describes the machine the lab ran on.
	Machine Machine `json:"machine"`
	// Versions are the versions of what ran.
	Versions Versions `json:"versions"`

	// LimitSeconds is the plain writer's wall time for the same writes, the fastest of
	// LimitRuns.
	LimitSeconds float64   `json:"limitSeconds"`
	LimitRuns    []float64 `json:"limitRuns"`
	// LimitRequests is how many requests the plain writer made.
	LimitRequests int `json:"limitRequests"`
	// MemberLimitSeconds is the fastest wall time of the N×M member creates alone, with no
	// host write: what the members can absorb. MemberRatio is it over ConvergeSeconds.
	MemberLimitSeconds float64   `json:"memberLimitSeconds"`
	MemberLimitRuns    []float64 `json:"memberLimitRuns"`
	MemberRatio        float64   `json:"memberRatio"`
	// RequestCosts is the CPU that one request of each kind costs the API server that serves
	// it and etcd, each kind measured alone.
	RequestCosts []RequestCost `json:"requestCosts,omitempty"`
	// ConvergeSeconds is fed-controller's time from applying the N federated objects to every
	// member holding every copy.
	ConvergeSeconds float64 `json:"convergeSeconds"`
	// Ratio is LimitSeconds / ConvergeSeconds: 1 means as fast as the API servers allow.
	Ratio float64 `json:"ratio"`
	// UpdateP50Millis and UpdateP99Millis are the template-change-to-every-member latencies.
	UpdateP50Millis float64 `json:"updateP50Millis"`
	UpdateP99Millis float64 `json:"updateP99Millis"`
	// UpdateMaxMillis is the slowest of them.
	UpdateMaxMillis float64 `json:"updateMaxMillis"`
	// UpdateAcceptedP50Millis and UpdateAcceptedP99Millis are how long the host API server
	// took to accept the changes; UpdateFirstP50Millis and UpdateFirstP99Millis how long until
	// the first member had them. Together they tell where a slow change waited: in the host,
	// in fed-controller before its first write, or between the members.
	UpdateAcceptedP50Millis float64 `json:"updateAcceptedP50Millis"`
	UpdateAcceptedP99Millis float64 `json:"updateAcceptedP99Millis"`
	UpdateFirstP50Millis    float64 `json:"updateFirstP50Millis"`
	UpdateFirstP99Millis    float64 `json:"updateFirstP99Millis"`
	// UpdateSamples is how many changes were timed; UpdateFailures how many did not arrive.
	UpdateSamples  int `json:"updateSamples"`
	UpdateFailures int `json:"updateFailures"`
	// IdleSeconds is the idle window; IdleMemberWrites the member writes in it (client-go's
	// count of non-GET requests) and IdleHostWrites the host writes in it.
	IdleSeconds float64 `json:"idleSeconds"`
	// IdleSettleSeconds is how long after the last change fed-controller's writes stopped,
	// before the idle window opened (at most two minutes).
	IdleSettleSeconds float64 `json:"idleSettleSeconds"`
	IdleMemberWrites  int     `json:"idleMemberWrites"`
	IdleHostWrites    int     `json:"idleHostWrites"`
	// ConvergeCPUSeconds is fed-controller's CPU time during converge; CPUSeconds over the
	// whole run, from its start to the end of delete.
	ConvergeCPUSeconds float64 `json:"convergeCPUSeconds"`
	CPUSeconds         float64 `json:"cpuSeconds"`
	// CPUSecondsPer1k is CPUSeconds per 1,000 federated objects.
	CPUSecondsPer1k float64 `json:"cpuSecondsPer1k"`
	// BaselineRSSMB is fed-controller's RSS before any federated object exists; PeakRSSMB its
	// peak over the run; RSSPer1kMB the growth above the baseline per 1,000 objects.
	BaselineRSSMB float64 `json:"baselineRSSMB"`
	PeakRSSMB     float64 `json:"peakRSSMB"`
	RSSPer1kMB    float64 `json:"rssPer1kMB"`
	// DeleteSeconds is the time from deleting the N federated objects to every copy and every
	// federated object being gone.
	DeleteSeconds float64 `json:"deleteSeconds"`
	// MemberWrites and HostWrites are fed-controller's non-GET requests over the run.
	MemberWrites int `json:"memberWrites"`
	HostWrites   int `json:"hostWrites"`
	// ConvergeHostRequests are the host API server's requests during converge (watches left
	// out), by resource and verb, from every client (the bench's own creates included), and
	// ConvergeMemberRequests the first member's.
	ConvergeHostRequests   []string `json:"convergeHostRequests"`
	ConvergeMemberRequests []string `json:"convergeMemberRequests"`
	// LimitCPU and ConvergeCPU are the CPU seconds each lab program used during limit and
	// converge.
	LimitCPU    []string `json:"limitCPU"`
	ConvergeCPU []string `json:"convergeCPU"`
	// PeakRSSMBAfter is fed-controller's peak RSS at the end of each phase.
	PeakRSSMBAfter map[string]float64 `json:"peakRSSMBAfter"`
	// Profiles lists the pprof files taken during converge.
	Profiles []string `json:"profiles,omitempty"`
	// FailedPhase is the phase that failed, and Error why; the figures of the phases after
	// it are zero. A failed run's file name ends in -failed.json.
	FailedPhase string `json:"failedPhase,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Params are a run's parameters.
type Params struct {
	Kind     string `json:"kind"`
	N        int    `json:"n"`
	M        int    `json:"m"`
	Inflight int    `json:"inflight"`
	Updates  int    `json:"updates"`
	Idle     string `json:"idle"`
	// Workers is the sync workers set in the KubeFedConfig; 0 means fed-controller's default.
	Workers int      `json:"workers"`
	Members []string `json:"members"`
	// ControllerArgs are the flags fed-controller ran with beyond those the lab sets.
	ControllerArgs []string `json:"controllerArgs"`
	// ObjectSize is the bytes of data in each ConfigMap.
	ObjectSize int `json:"objectSize,omitempty"`
}

// Machine describes the machine.
type Machine struct {
	CPUs     int     `json:"cpus"`
	CPUModel string  `json:"cpuModel"`
	MemoryGB float64 `json:"memoryGB"`
	Kernel   string  `json:"kernel"`
	OS       string  `json:"os"`
}

// Versions are the versions of what ran.
type Versions struct {
	Fedplane   string `json:"fedplane"`
	Go         string `json:"go"`
	Kubernetes string `json:"kubernetes"`
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of samples; 0 for none.
func percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), samples...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// round keeps d digits after the point.
func round(v float64, d int) float64 {
	f := math.Pow(10, float64(d))
	return math.Round(v*f) / f
}

// Summary is the one-line summary, the last line a run prints.
func (r *Result) Summary() string {
	return fmt.Sprintf("bench: kind=%s N=%d M=%d limit=%.1fs converge=%.1fs ratio=%.2f member_ratio=%.2f update_p50=%.0fms update_p99=%.0fms idle_writes=%d cpu=%.1fs peak_rss=%.0fMB delete=%.1fs",
		r.Params.Kind, r.Params.N, r.Params.M, r.LimitSeconds, r.ConvergeSeconds, r.Ratio, r.MemberRatio, r.UpdateP50Millis, r.UpdateP99Millis,
		r.IdleMemberWrites, r.CPUSeconds, r.PeakRSSMB, r.DeleteSeconds)
}

// WriteTable prints the figures as a table.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"parameters", fmt.Sprintf("kind=%s N=%d M=%d in-flight=%d", r.Params.Kind, r.Params.N, r.Params.M, r.Params.Inflight)},
		{"machine", fmt.Sprintf("%d CPUs (%s), %.0f GB, %s", r.Machine.CPUs, r.Machine.CPUModel, r.Machine.MemoryGB, r.Machine.Kernel)},
		{"versions", fmt.Sprintf("fedplane %s, Kubernetes %s, %s", r.Versions.Fedplane, r.Versions.Kubernetes, r.Versions.Go)},
		{"limit", fmt.Sprintf("%.1fs (%d requests, %.0f/s; fastest of %v)", r.LimitSeconds, r.LimitRequests, float64(r.LimitRequests)/r.LimitSeconds, r.LimitRuns)},
		{"converge", fmt.Sprintf("%.1fs", r.ConvergeSeconds)},
		{"ratio limit/converge", fmt.Sprintf("%.2f", r.Ratio)},
		{"member limit", fmt.Sprintf("%.1fs (the %d member creates alone; fastest of %v)", r.MemberLimitSeconds, r.Params.N*r.Params.M, r.MemberLimitRuns)},
		{"ratio member limit/converge", fmt.Sprintf("%.2f", r.MemberRatio)},
		{"update latency", fmt.Sprintf("p50 %.0fms, p99 %.0fms, max %.0fms (%d changes, %d lost)", r.UpdateP50Millis, r.UpdateP99Millis, r.UpdateMaxMillis, r.UpdateSamples, r.UpdateFailures)},
		{"  host accepted", fmt.Sprintf("p50 %.0fms, p99 %.0fms", r.UpdateAcceptedP50Millis, r.UpdateAcceptedP99Millis)},
		{"  first member", fmt.Sprintf("p50 %.0fms, p99 %.0fms", r.UpdateFirstP50Millis, r.UpdateFirstP99Millis)},
		{"idle writes", fmt.Sprintf("%d to members, %d to the host, over %s (after %.1fs for the writes before it to stop)", r.IdleMemberWrites, r.IdleHostWrites, r.Params.Idle, r.IdleSettleSeconds)},
		{"cpu", fmt.Sprintf("%.1fs in the run (%.1fs per 1,000 objects), %.1fs of it in converge", r.CPUSeconds, r.CPUSecondsPer1k, r.ConvergeCPUSeconds)},
		{"memory", fmt.Sprintf("peak RSS %.0fMB, %.0fMB before any object (+%.1fMB per 1,000 objects)", r.PeakRSSMB, r.BaselineRSSMB, r.RSSPer1kMB)},
		{"delete", fmt.Sprintf("%.1fs", r.DeleteSeconds)},
		{"controller writes", fmt.Sprintf("%d to members, %d to the host", r.MemberWrites, r.HostWrites)},
	}
	for _, c := range r.RequestCosts {
		rows = append(rows, [2]string{"request cost", c.String()})
	}
	for _, row := range rows {
		if _, err := fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1]); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// Save writes the result as JSON into dir and returns the file's path.
func (r *Result) Save(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	suffix := ""
	if r.FailedPhase != "" {
		suffix = "-failed"
	}
	name := fmt.Sprintf("%s-%s-N%d-M%d%s.json", r.Started.Format("20060102T150405Z"), strings.ToLower(r.Params.Kind), r.Params.N, r.Params.M, suffix)
	path := filepath.Join(dir, name)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}
