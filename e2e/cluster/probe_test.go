package cluster_test

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
)

var lab *framework.Lab

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithLab(m, framework.Options{Members: []string{"m1", "m2"}}, &lab))
}

// prober builds a prober for member from a registration as fedctl join writes it, with the
// given CA and disabled TLS checks.
func prober(t *testing.T, member *framework.Cluster, ca []byte, disabled ...corev1beta1.TLSValidation) *cluster.Prober {
	t.Helper()
	reg := &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: member.Name, Namespace: corev1beta1.DefaultNamespace},
		Spec: corev1beta1.KubeFedClusterSpec{
			APIEndpoint: member.Server(), CABundle: ca,
			SecretRef:              corev1beta1.LocalSecretReference{Name: member.Name + "-token"},
			DisabledTLSValidations: disabled,
		},
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: member.Name + "-token"}, Data: map[string][]byte{cluster.TokenKey: []byte(member.Token())}}
	cfg, err := cluster.RESTConfig(reg, secret)
	if err != nil {
		t.Fatalf("RESTConfig() error = %v", err)
	}
	p, err := cluster.NewProber(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProbeOfAHealthyMemberReadsItsTopology(t *testing.T) {
	framework.Require(t, lab)
	m1 := lab.Cluster("m1")
	p := prober(t, m1, m1.CACert())
	if got := p.Probe(t.Context(), 3*time.Second); got != (cluster.Probe{Outcome: cluster.Healthy}) {
		t.Fatalf("Probe() = %+v, want Healthy", got)
	}
	topo, err := p.Topology(t.Context(), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := cluster.Topology{Version: "v1.37.2", Region: ptr.To("lab-m1"), Zones: []string{"lab-m1-a"}}
	if diff := cmp.Diff(want, topo); diff != "" {
		t.Errorf("Topology() (-want +got):\n%s", diff)
	}
}

func TestProbeOfAHungMemberGivesUpAtItsTimeout(t *testing.T) {
	framework.Require(t, lab)
	m1 := lab.Cluster("m1")
	p := prober(t, m1, m1.CACert())
	if err := m1.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m1.ContinueAPIServer() })
	start := time.Now()
	got := p.Probe(t.Context(), time.Second)
	elapsed := time.Since(start)
	if want := (cluster.Probe{Outcome: cluster.Unreachable, Detail: "no answer within 1s"}); got != want {
		t.Errorf("Probe() of a SIGSTOPped member = %+v, want %+v", got, want)
	}
	// It returns, rather than hanging on the member.
	if elapsed > 10*time.Second {
		t.Errorf("Probe() took %v with a timeout of 1s", elapsed)
	}
	t.Logf("probe of the SIGSTOPped member returned after %v", elapsed.Round(time.Millisecond))

	if err := m1.ContinueAPIServer(); err != nil {
		t.Fatal(err)
	}
	NewWithT(t).Eventually(func() cluster.Probe { return p.Probe(t.Context(), time.Second) }).
		WithTimeout(20 * time.Second).Should(Equal(cluster.Probe{Outcome: cluster.Healthy}))
}

func TestProbeTLSModes(t *testing.T) {
	framework.Require(t, lab)
	m1, m2 := lab.Cluster("m1"), lab.Cluster("m2")
	cases := []struct {
		name       string
		ca         []byte
		disabled   []corev1beta1.TLSValidation
		want       cluster.Outcome
		wantDetail string
	}{
		{name: "the member's own CA", ca: m1.CACert(), want: cluster.Healthy},
		{name: "another cluster's CA is refused, and the message says why", ca: m2.CACert(), want: cluster.Unreachable, wantDetail: "x509: certificate signed by unknown authority"},
		{name: "SubjectName does not skip the CA check", ca: m2.CACert(), disabled: []corev1beta1.TLSValidation{corev1beta1.TLSSubjectName}, want: cluster.Unreachable, wantDetail: "x509: certificate signed by unknown authority"},
		{name: "no verification at all when asked for, without a CA", disabled: []corev1beta1.TLSValidation{corev1beta1.TLSAll}, want: cluster.Healthy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := prober(t, m1, tc.ca, tc.disabled...).Probe(t.Context(), 3*time.Second)
			if got.Outcome != tc.want {
				t.Errorf("Probe() = %+v, want outcome %v", got, tc.want)
			}
			if tc.wantDetail != "" && got.Detail != tc.wantDetail {
				t.Errorf("Probe() detail = %q, want %q", got.Detail, tc.wantDetail)
			}
		})
	}
}
