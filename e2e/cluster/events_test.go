package cluster_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// clusterEvents returns the events about the KubeFedCluster name of namespace, each as
// "type reason: note", with " (xN)" when the recorder folded N of them into one series, sorted.
func clusterEvents(t *testing.T, c client.Client, namespace, name string) func() []string {
	return func() []string {
		list := &eventsv1.EventList{}
		if err := c.List(t.Context(), list, client.InNamespace(namespace)); err != nil {
			return []string{err.Error()}
		}
		out := []string{}
		for _, e := range list.Items {
			if e.Regarding.Kind != "KubeFedCluster" || e.Regarding.Name != name {
				continue
			}
			s := e.Type + " " + e.Reason + ": " + e.Note
			if e.Series != nil {
				s += fmt.Sprintf(" (x%d)", e.Series.Count)
			}
			out = append(out, s)
		}
		sort.Strings(out)
		return out
	}
}

// TestReadinessTransitionsAreEvents runs fed-controller for a control plane of its own with
// member m2, probed every second with a 1s timeout and KubeFed's thresholds: its registration
// gets a Normal event when it becomes Ready, a Warning with the probe's message when its API
// server hangs and it goes Offline, and Ready again once it answers; while its state stays,
// no event is repeated.
func TestReadinessTransitionsAreEvents(t *testing.T) {
	const namespace = "cluster-events"
	c := controlPlane(t, namespace, time.Second, time.Second)
	g := NewWithT(t)
	m2 := lab.Cluster("m2")
	tokenSecret(t, c, namespace, "m2", m2.Token())
	g.Expect(c.Create(t.Context(), endpointRegistration(namespace, "m2", m2.Server(), m2.CACert()))).To(Succeed())
	startFedController(t, namespace)
	events := clusterEvents(t, c, namespace, "m2")
	const (
		ready   = "Normal ClusterReady: /healthz responded with ok"
		offline = "Warning ClusterOffline: cluster is not reachable: no answer within 1s"
	)

	g.Eventually(events).WithTimeout(60*time.Second).WithPolling(200*time.Millisecond).
		Should(Equal([]string{ready}), "one Ready event once m2 is registered")
	time.Sleep(5 * time.Second)
	g.Expect(events()).To(Equal([]string{ready}), "no event while m2 stays Ready")

	g.Expect(m2.StopAPIServer()).To(Succeed())
	t.Cleanup(func() { _ = m2.ContinueAPIServer() })
	g.Eventually(events).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).
		Should(Equal([]string{ready, offline}), "a Warning once m2 hangs")
	time.Sleep(5 * time.Second)
	g.Expect(events()).To(Equal([]string{ready, offline}), "no event while m2 stays Offline")

	g.Expect(m2.ContinueAPIServer()).To(Succeed())
	// The recorder folds a second event of the same type and reason into the first one's series.
	g.Eventually(events).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).
		Should(Equal([]string{ready + " (x2)", offline}), "Ready again once m2 answers")
	t.Logf("events on m2: %q", events())
}
