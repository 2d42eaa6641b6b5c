package framework_test

import (
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/fedplane/fedplane/e2e/framework"
)

// TestCountingProxyTellsCreatesNoOpsAndChanges applies a ConfigMap through a CountingProxy
// three times: the create, the same content again and another content. The record tells them
// apart by status and resourceVersion, which is what the leader-election test counts
// duplicate writes with.
func TestCountingProxyTellsCreatesNoOpsAndChanges(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	c := lab.Cluster("m1")
	p := framework.StartCountingProxy(t, c)
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: p.Endpoint, BearerToken: c.Token(), TLSClientConfig: rest.TLSClientConfig{CAData: p.CA}})
	g.Expect(err).NotTo(HaveOccurred())
	apply := func(v string) string {
		cm := applycorev1.ConfigMap("counted", "default").WithData(map[string]string{"v": v})
		got, err := cs.CoreV1().ConfigMaps("default").Apply(t.Context(), cm, metav1.ApplyOptions{FieldManager: "e2e", Force: true})
		g.Expect(err).NotTo(HaveOccurred())
		return got.ResourceVersion
	}
	rvs := []string{apply("a"), apply("a"), apply("b")}
	_, err = cs.CoreV1().ConfigMaps("default").Get(t.Context(), "counted", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cs.CoreV1().ConfigMaps("default").Delete(t.Context(), "counted", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})).To(Succeed())

	type seen struct {
		Method, Path string
		Status       int
		RV           string
	}
	var got []seen
	for _, w := range p.Writes() {
		g.Expect(w.Answered).NotTo(BeTemporally("<", w.Received), "a write is answered after it is received")
		g.Expect(w.Conn).NotTo(BeEmpty())
		got = append(got, seen{w.Method, w.Path, w.Status, w.ResourceVersion})
	}
	path := "/api/v1/namespaces/default/configmaps/counted"
	g.Expect(got).To(Equal([]seen{
		{http.MethodPatch, path, http.StatusCreated, rvs[0]},
		{http.MethodPatch, path, http.StatusOK, rvs[0]},
		{http.MethodPatch, path, http.StatusOK, rvs[2]},
		{http.MethodDelete, path, http.StatusOK, ""},
	}), "the GET is not a write; the second apply changed nothing")
	g.Expect(rvs[2]).NotTo(Equal(rvs[0]), "the third apply changed the ConfigMap")
	g.Expect(p.ConnsOpenedBefore(time.Now())).NotTo(BeEmpty(), "the client's connections are recorded")
}

// TestCountingProxyNamesTheObjectACreateMade creates a ConfigMap through a CountingProxy, then
// creates it again: the record names the object both times, from the answer (the object made,
// in JSON) and from the refusal (AlreadyExists, in protobuf), since a create's path names only
// the collection.
func TestCountingProxyNamesTheObjectACreateMade(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	c := lab.Cluster("m1")
	p := framework.StartCountingProxy(t, c)
	cfg := &rest.Config{Host: p.Endpoint, BearerToken: c.Token(), TLSClientConfig: rest.TLSClientConfig{CAData: p.CA}}
	cs, err := kubernetes.NewForConfig(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	protoCfg := rest.CopyConfig(cfg)
	protoCfg.ContentType = "application/vnd.kubernetes.protobuf"
	protoCS, err := kubernetes.NewForConfig(protoCfg)
	g.Expect(err).NotTo(HaveOccurred())
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "created-counted", Namespace: "default"}}
	_, err = cs.CoreV1().ConfigMaps("default").Create(t.Context(), cm, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() {
		_ = cs.CoreV1().ConfigMaps("default").Delete(t.Context(), cm.Name, metav1.DeleteOptions{})
	})
	_, err = protoCS.CoreV1().ConfigMaps("default").Create(t.Context(), cm, metav1.CreateOptions{})
	g.Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "the second create is refused: %v", err)

	type seen struct {
		Method, Path, Object string
		Status               int
	}
	var got []seen
	for _, w := range p.Writes() {
		got = append(got, seen{w.Method, w.Path, w.Object, w.Status})
	}
	collection := "/api/v1/namespaces/default/configmaps"
	g.Expect(got).To(Equal([]seen{
		{http.MethodPost, collection, collection + "/created-counted", http.StatusCreated},
		{http.MethodPost, collection, collection + "/created-counted", http.StatusConflict},
	}))
}
