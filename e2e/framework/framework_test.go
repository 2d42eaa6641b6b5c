package framework_test

import (
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/fedplane/fedplane/e2e/framework"
)

var lab *framework.Lab

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithLab(m, framework.Options{Members: []string{"m1"}, NoHost: true}, &lab))
}

func TestHungAPIServerTimesOutThenAnswersAfterSIGCONT(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	ctx := t.Context()
	c := lab.Cluster("m1")
	cfg := c.RESTConfig()
	cfg.Timeout = 2 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	g.Expect(err).NotTo(HaveOccurred())

	_, err = cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred(), "the API server answers before SIGSTOP")

	g.Expect(c.StopAPIServer()).To(Succeed())
	t.Cleanup(func() { _ = c.ContinueAPIServer() })
	start := time.Now()
	_, err = cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	elapsed := time.Since(start)
	g.Expect(err).To(HaveOccurred(), "a stopped API server must not answer")
	g.Expect(elapsed).To(BeNumerically(">=", 1900*time.Millisecond), "the request waited for its timeout: %v", err)
	t.Logf("request to the SIGSTOPped API server failed after %v: %v", elapsed.Round(time.Millisecond), err)

	g.Expect(c.ContinueAPIServer()).To(Succeed())
	start = time.Now()
	g.Eventually(func() error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err
	}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	t.Logf("the API server answered %v after SIGCONT", time.Since(start).Round(time.Millisecond))
}

func TestKilledAPIServerRestartsWithItsData(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	ctx := t.Context()
	c := lab.Cluster("m1")
	cs, err := c.Clientset()
	g.Expect(err).NotTo(HaveOccurred())
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "survives-restart", Namespace: "default"}, Data: map[string]string{"a": "1"}}
	created, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(c.KillAPIServer()).To(Succeed())
	short := c.RESTConfig()
	short.Timeout = 2 * time.Second
	down, err := kubernetes.NewForConfig(short)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = down.CoreV1().ConfigMaps("default").Get(ctx, cm.Name, metav1.GetOptions{})
	g.Expect(err).To(HaveOccurred(), "a killed API server must not answer")

	g.Expect(c.RestartAPIServer(ctx)).To(Succeed())
	got, err := cs.CoreV1().ConfigMaps("default").Get(ctx, cm.Name, metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.UID).To(Equal(created.UID), "the restarted API server serves the same object")
}

func TestFakeNodePodCapacityLeavesTheRestUnschedulable(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	ctx := t.Context()
	c := lab.Cluster("m1")
	g.Expect(c.AddFakeNode(ctx, "m1-small", 3, map[string]string{"lab.fedplane.io/pool": "small"})).To(Succeed())
	cs, err := c.Clientset()
	g.Expect(err).NotTo(HaveOccurred())

	labels := map[string]string{"app": "capacity"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "capacity", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](4),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"lab.fedplane.io/pool": "small"},
					Containers:   []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}},
				},
			},
		},
	}
	_, err = cs.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	type counts struct{ Running, Unschedulable int }
	g.Eventually(func() counts {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=capacity"})
		if err != nil {
			return counts{}
		}
		var got counts
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				got.Running++
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
					got.Unschedulable++
				}
			}
		}
		return got
	}).WithTimeout(90 * time.Second).WithPolling(500 * time.Millisecond).Should(Equal(counts{Running: 3, Unschedulable: 1}))
}
