package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/json"

	"github.com/fedplane/fedplane/e2e/framework"
)

// converge applies the N federated objects and waits until every member holds every copy,
// then checks each copy's content.
func (b *bench) converge(ctx context.Context) error {
	n := b.cfg.n
	pid := b.controller.Pid()
	// Let the controller settle after start, then take its baseline.
	time.Sleep(2 * time.Second)
	rss, _, err := memoryMB(pid)
	if err != nil {
		return err
	}
	b.result.BaselineRSSMB = round(rss, 1)
	cpuBefore, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	var profiles sync.WaitGroup
	// cpuProfile and midProfile are set by the profiles' goroutines, and read only after they
	// are done.
	var cpuProfile, midProfile string
	if b.cfg.profile {
		// What fed-controller holds before any federated object exists.
		baseline := b.profilePath("baseline-heap")
		if err := fetch(ctx, b.controller.PprofURL()+"heap", baseline); err != nil {
			b.logf("converge: no baseline heap profile: %v", err)
		} else {
			b.result.Profiles = append(b.result.Profiles, baseline)
		}
		// The heap half way, when the work in flight is at its largest.
		mid := b.profilePath("converge-mid-heap")
		profiles.Go(func() {
			for ctx.Err() == nil {
				if held, _ := b.tracker.counts(1); held >= n*len(b.members)/2 {
					if err := fetch(ctx, b.controller.PprofURL()+"heap", mid); err != nil {
						b.logf("converge: no heap profile half way: %v", err)
						return
					}
					midProfile = mid
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
		})
		// A CPU profile as long as converge is expected to take, from the limit.
		seconds := max(5, int(b.result.LimitSeconds*1.2)+1)
		path := b.profilePath("converge-cpu")
		profiles.Go(func() {
			url := b.controller.PprofURL() + fmt.Sprintf("profile?seconds=%d", seconds)
			if err := fetch(context.WithoutCancel(ctx), url, path); err != nil {
				b.logf("converge: no CPU profile: %v", err)
				return
			}
			cpuProfile = path
		})
	}
	hostBefore, err := requestCounts(ctx, b.lab.Host().RESTConfig())
	if err != nil {
		return err
	}
	memberBefore, err := requestCounts(ctx, b.lab.Cluster(b.members[0]).RESTConfig())
	if err != nil {
		return err
	}
	fedRes := b.hostDyn.Resource(b.kind.FederatedResource).Namespace(benchNamespace)
	b.logf("converge: applying %d federated objects", n)
	labBefore, selfBefore := labCPU(b.dir), selfCPU()
	started := time.Now()
	deadline, _ := ctx.Deadline()
	err = inParallel(ctx, b.cfg.inflight, n, func(ctx context.Context, i int) error {
		_, err := fedRes.Create(ctx, b.kind.federated(benchNamespace, i, 1, b.members), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to apply the federated objects: %w", err)
	}
	b.logf("converge: applied in %s; waiting for %d member objects", time.Since(started).Round(time.Millisecond), n*len(b.members))
	done, err := b.tracker.waitAll(deadline, n, 1)
	if err != nil {
		held, right := b.tracker.counts(1)
		return fmt.Errorf("members hold %d of %d objects, %d of them right: %w", held, n*len(b.members), right, err)
	}
	b.result.ConvergeSeconds = round(done.Sub(started).Seconds(), 2)
	b.result.Ratio = round(b.result.LimitSeconds/b.result.ConvergeSeconds, 2)
	b.result.MemberRatio = round(b.result.MemberLimitSeconds/b.result.ConvergeSeconds, 2)
	cpuAfter, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	b.result.ConvergeCPUSeconds = round(cpuAfter-cpuBefore, 2)
	b.result.ConvergeCPU = cpuShares(labBefore, labCPU(b.dir), selfCPU()-selfBefore)
	b.logf("converge: CPU: %s", strings.Join(b.result.ConvergeCPU, ", "))
	b.logf("converge: %.1fs (ratio %.2f, member ratio %.2f)", b.result.ConvergeSeconds, b.result.Ratio, b.result.MemberRatio)
	hostAfter, err := requestCounts(ctx, b.lab.Host().RESTConfig())
	if err != nil {
		return err
	}
	b.result.ConvergeHostRequests = diffCounts(hostBefore, hostAfter)
	b.logf("converge: host API server requests: %s", strings.Join(b.result.ConvergeHostRequests, ", "))
	memberAfter, err := requestCounts(ctx, b.lab.Cluster(b.members[0]).RESTConfig())
	if err != nil {
		return err
	}
	b.result.ConvergeMemberRequests = diffCounts(memberBefore, memberAfter)
	b.logf("converge: %s API server requests: %s", b.members[0], strings.Join(b.result.ConvergeMemberRequests, ", "))
	if b.cfg.profile {
		path := b.profilePath("converge-heap")
		url := b.controller.PprofURL() + "heap"
		if err := fetch(ctx, url, path); err != nil {
			b.logf("converge: no heap profile: %v", err)
		} else {
			b.result.Profiles = append(b.result.Profiles, path)
		}
	}
	profiles.Wait()
	for _, p := range []string{midProfile, cpuProfile} {
		if p != "" {
			b.result.Profiles = append(b.result.Profiles, p)
		}
	}
	return b.checkContent(ctx, 1)
}

// checkContent reads every member copy and compares it with what the template at version
// and the cluster's override say.
func (b *bench) checkContent(ctx context.Context, version int) error {
	for _, cluster := range b.members {
		list, err := b.memberDyn[cluster].Resource(b.kind.Resource).Namespace(benchNamespace).List(ctx, metav1.ListOptions{LabelSelector: benchSelector})
		if err != nil {
			return err
		}
		if len(list.Items) != b.cfg.n {
			return fmt.Errorf("cluster %s holds %d objects, want %d", cluster, len(list.Items), b.cfg.n)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			if err := b.kind.contentMatches(obj, version, cluster); err != nil {
				return fmt.Errorf("cluster %s, %s: %w", cluster, obj.GetName(), err)
			}
		}
	}
	return nil
}

// update changes one object's template at a time and times until every member holds it.
func (b *bench) update(ctx context.Context) error {
	fedRes := b.hostDyn.Resource(b.kind.FederatedResource).Namespace(benchNamespace)
	var samples, accepted, first []time.Duration
	failures := 0
	for k := range b.cfg.updates {
		name := objectName(k * b.cfg.n / b.cfg.updates)
		patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": b.kind.template(2)}})
		if err != nil {
			return err
		}
		started := time.Now()
		if _, err := fedRes.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("failed to change %s: %w", name, err)
		}
		accepted = append(accepted, time.Since(started))
		firstAt, done, err := b.tracker.waitObject(started.Add(30*time.Second), name, 2)
		if err != nil {
			failures++
			continue
		}
		samples = append(samples, done.Sub(started))
		first = append(first, firstAt.Sub(started))
	}
	ms := func(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 1) }
	b.result.UpdateSamples, b.result.UpdateFailures = len(samples), failures
	b.result.UpdateP50Millis = ms(percentile(samples, 50))
	b.result.UpdateP99Millis = ms(percentile(samples, 99))
	b.result.UpdateMaxMillis = ms(percentile(samples, 100))
	b.result.UpdateAcceptedP50Millis = ms(percentile(accepted, 50))
	b.result.UpdateAcceptedP99Millis = ms(percentile(accepted, 99))
	b.result.UpdateFirstP50Millis = ms(percentile(first, 50))
	b.result.UpdateFirstP99Millis = ms(percentile(first, 99))
	b.logf("update: p50 %.0fms p99 %.0fms (%d changes, %d lost); host accepted p50 %.0fms p99 %.0fms, first member p50 %.0fms p99 %.0fms",
		b.result.UpdateP50Millis, b.result.UpdateP99Millis, len(samples), failures,
		b.result.UpdateAcceptedP50Millis, b.result.UpdateAcceptedP99Millis, b.result.UpdateFirstP50Millis, b.result.UpdateFirstP99Millis)
	if failures > 0 {
		return fmt.Errorf("%d of %d changes did not reach every member within 30s", failures, b.cfg.updates)
	}
	return nil
}

// settle waits until fed-controller has made no write for idleSettle, or for idleSettleMax
// at most, and tells how long it waited.
func (b *bench) settle(ctx context.Context) (time.Duration, error) {
	count := func() (int, error) {
		m, h, err := b.writes()
		return m + h, err
	}
	waited, quiet, err := settleWrites(ctx, count, idleSettle, idleSettleMax, 500*time.Millisecond)
	if err == nil && !quiet {
		b.logf("idle: fed-controller was still writing after %s; counting all the same", idleSettleMax)
	}
	return waited, err
}

// settleWrites polls count every poll until it has not moved for quiet, or until max has
// passed (quiet is then false). waited is how long it took the writes to stop.
func settleWrites(ctx context.Context, count func() (int, error), quietFor, maxWait, poll time.Duration) (waited time.Duration, quiet bool, err error) {
	started := time.Now()
	last, quietSince := -1, started
	for time.Since(started) < maxWait {
		n, err := count()
		if err != nil {
			return 0, false, err
		}
		if n != last {
			last, quietSince = n, time.Now()
		} else if time.Since(quietSince) >= quietFor {
			return quietSince.Sub(started), true, nil
		}
		select {
		case <-ctx.Done():
			return 0, false, ctx.Err()
		case <-time.After(poll):
		}
	}
	return time.Since(started), false, nil
}

// writes returns fed-controller's non-GET requests to the members and to the host so far.
func (b *bench) writes() (member, host int, err error) {
	members := make([]*framework.Cluster, 0, len(b.members))
	for _, name := range b.members {
		members = append(members, b.lab.Cluster(name))
	}
	m, err := b.controller.WritesTo(members...)
	if err != nil {
		return 0, 0, err
	}
	h, err := b.controller.WritesTo(b.lab.Host())
	if err != nil {
		return 0, 0, err
	}
	return int(m), int(h), nil
}

// idleSettle is how long fed-controller must make no write before the idle window opens, and
// idleSettleMax how long the bench waits for that at most: a controller that never stops
// writing is then measured as it is.
const (
	idleSettle    = 3 * time.Second
	idleSettleMax = 2 * time.Minute
)

// idle counts fed-controller's writes while nothing changes. The window opens once the writes
// of the changes before it (converge's backlog of statuses, the last update's) have stopped.
func (b *bench) idle(ctx context.Context) error {
	settled, err := b.settle(ctx)
	if err != nil {
		return err
	}
	b.result.IdleSettleSeconds = round(settled.Seconds(), 1)
	m0, h0, err := b.writes()
	if err != nil {
		return err
	}
	b.logf("idle: writes stopped %.1fs after the last change; counting writes for %s", b.result.IdleSettleSeconds, b.cfg.idle)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(b.cfg.idle):
	}
	m1, h1, err := b.writes()
	if err != nil {
		return err
	}
	b.result.IdleSeconds = b.cfg.idle.Seconds()
	b.result.IdleMemberWrites, b.result.IdleHostWrites = m1-m0, h1-h0
	b.logf("idle: %d member writes, %d host writes", m1-m0, h1-h0)
	return nil
}

// delete deletes the N federated objects and waits until every copy and every
// federated object is gone.
func (b *bench) delete(ctx context.Context) error {
	fedRes := b.hostDyn.Resource(b.kind.FederatedResource).Namespace(benchNamespace)
	deadline, _ := ctx.Deadline()
	started := time.Now()
	// One delete per object, as `kubectl delete` of a file does; a single delete collection
	// of thousands would outlast the API server's request timeout.
	err := inParallel(ctx, b.cfg.inflight, b.cfg.n, func(ctx context.Context, i int) error {
		return fedRes.Delete(ctx, objectName(i), metav1.DeleteOptions{})
	})
	if err != nil {
		return fmt.Errorf("failed to delete the federated objects: %w", err)
	}
	if _, err := b.tracker.waitEmpty(deadline); err != nil {
		held, _ := b.tracker.counts(0)
		return fmt.Errorf("members still hold %d objects: %w", held, err)
	}
	err = poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		list, err := fedRes.List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return false, err
		}
		return len(list.Items) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("the federated objects were not removed: %w", err)
	}
	b.result.DeleteSeconds = round(time.Since(started).Seconds(), 2)
	b.logf("delete: %.1fs", b.result.DeleteSeconds)
	return nil
}

// cost reads fed-controller's CPU time, peak memory and writes over the run.
func (b *bench) cost(_ context.Context) error {
	pid := b.controller.Pid()
	cpu, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	_, peak, err := memoryMB(pid)
	if err != nil {
		return err
	}
	per1k := 1000 / float64(b.cfg.n)
	b.result.CPUSeconds = round(cpu, 2)
	b.result.CPUSecondsPer1k = round(cpu*per1k, 2)
	b.result.PeakRSSMB = round(peak, 1)
	b.result.RSSPer1kMB = round((peak-b.result.BaselineRSSMB)*per1k, 1)
	b.result.MemberWrites, b.result.HostWrites, err = b.writes()
	return err
}
