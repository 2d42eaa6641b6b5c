package propagation_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/fedplane/fedplane/api/contract"
	corev1alpha1 "github.com/fedplane/fedplane/api/core/v1alpha1"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/internal/testfixtures"
	"github.com/fedplane/fedplane/pkg/federate"
	"github.com/fedplane/fedplane/pkg/manifests"
)

var lab *framework.Lab

func TestMain(m *testing.M) {
	// host2 is a second control plane's host, for the fencing test.
	os.Exit(framework.RunWithLabAndController(m, framework.Options{Members: []string{"local", "cce", "host2"}}, &lab, &controllerBinary))
}

const (
	wait = 30 * time.Second
	poll = 100 * time.Millisecond
)

// TestPropagation runs fed-controller against the lab's host, with members local and cce,
// and follows a user through the KubeFed walkthrough and beyond.
func TestPropagation(t *testing.T) {
	framework.Require(t, lab)
	fed := framework.StartFederation(t, lab, controllerBinary, "fedplane-a", "local", "cce")
	host, members, ctrlA := fed.Host, fed.Members, fed.Controller
	local, cce := lab.Cluster("local"), lab.Cluster("cce")

	t.Run("the seed walkthrough gives each member what expected/02-overrides.yaml says", func(t *testing.T) {
		g := NewWithT(t)
		docs, err := manifests.Load(testfixtures.Path(t, "seed", "manifests"))
		g.Expect(err).NotTo(HaveOccurred())
		for _, d := range docs {
			framework.ApplyObject(t, host, d.Object)
		}
		var expected map[string]map[string]any
		raw, err := os.ReadFile(testfixtures.Path(t, "seed", "expected", "02-overrides.yaml"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(yaml.Unmarshal(raw, &expected)).To(Succeed())
		g.Expect(expected).To(HaveLen(2))
		started := time.Now()
		for name, want := range expected {
			mc := members[name]
			g.Expect(mc).NotTo(BeNil(), "expected names cluster %s", name)
			g.Eventually(func(g Gomega) {
				d, err := framework.GetObject(t.Context(), mc, deploymentGVK, "test-namespace", "test-deployment")
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(d).NotTo(BeNil())
				replicas, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
				g.Expect(replicas).To(BeEquivalentTo(want["spec.replicas"]))
				containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
				g.Expect(containers).To(HaveLen(1))
				c := containers[0].(map[string]any)
				g.Expect(c["image"]).To(Equal(want["image"]))
				g.Expect(c["args"]).To(Equal(want["args"]))
				if want["annotation foo"] == "absent" {
					g.Expect(d.GetAnnotations()).NotTo(HaveKey("foo"))
				}
				g.Expect(d.GetLabels()).To(HaveKeyWithValue("kubefed.io/managed", "true"))
				g.Expect(d.GetAnnotations()).To(HaveKeyWithValue(contract.ControlPlaneAnnotation, "fedplane-a"))
			}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), "cluster %s", name)
		}
		t.Logf("both members match expected/02-overrides.yaml %v after applying", time.Since(started).Round(time.Millisecond))

		g.Eventually(func(g Gomega) {
			st, err := fedStatus(t.Context(), host, federatedDeployGVK, "test-namespace", "test-deployment")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(propagation(st)).To(Equal("True/"))
			g.Expect(clusterStatuses(st)).To(Equal([]string{"cce=", "local="}))
			g.Expect(st.Clusters[0].RemoteStatus).NotTo(BeNil(), "remote status of a Deployment is collected")
			var rs map[string]any
			g.Expect(st.Clusters[0].RemoteStatus.Decode(&rs)).To(Succeed())
			g.Expect(rs).To(HaveKeyWithValue("readyReplicas", BeNumerically("==", 5)))
			// kubectl get federateddeployments shows these as DESIRED and READY.
			g.Expect(st.Replicas).To(HaveValue(BeEquivalentTo(8)))
			g.Expect(st.ReadyReplicas).To(HaveValue(BeEquivalentTo(8)))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())

		// The PropagatedVersion keeps KubeFed's name and hashes.
		fed, err := framework.GetObject(t.Context(), host, federatedDeployGVK, "test-namespace", "test-deployment")
		g.Expect(err).NotTo(HaveOccurred())
		tv, _ := federate.TemplateVersion(fed)
		ov, _ := federate.OverridesVersion(fed)
		g.Eventually(func(g Gomega) {
			pv := &corev1alpha1.PropagatedVersion{}
			g.Expect(host.Get(t.Context(), client.ObjectKey{Namespace: "test-namespace", Name: "deployment-test-deployment"}, pv)).To(Succeed())
			g.Expect(pv.Status.TemplateVersion).To(Equal(tv))
			g.Expect(pv.Status.OverrideVersion).To(Equal(ov))
			g.Expect(pv.Status.ClusterVersions).To(HaveLen(2))
			g.Expect(pv.Status.ClusterVersions[0].ClusterName).To(Equal("cce"))
			g.Expect(pv.Status.ClusterVersions[0].Version).To(HavePrefix("gen:"))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		g.Expect(fed.GetFinalizers()).To(ContainElement(contract.SyncFinalizer))
	})

	t.Run("the RawResourceStatusCollection gate Disabled drops the remote status and keeps the replica counts", func(t *testing.T) {
		g := NewWithT(t)
		const gate = "RawResourceStatusCollection"
		status := func(g Gomega) []typesv1beta1.ClusterStatus {
			st, err := fedStatus(t.Context(), host, federatedDeployGVK, "test-namespace", "test-deployment")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(propagation(st)).To(Equal("True/"))
			g.Expect(st.Replicas).To(HaveValue(BeEquivalentTo(8)), "DESIRED")
			g.Expect(st.ReadyReplicas).To(HaveValue(BeEquivalentTo(8)), "READY")
			g.Expect(st.Clusters).To(HaveLen(2))
			return st.Clusters
		}
		framework.SetFeatureGate(t.Context(), t, host, gate, corev1beta1.ConfigurationDisabled)
		// The test's context is done by the time the cleanup runs.
		t.Cleanup(func() {
			framework.SetFeatureGate(context.Background(), t, host, gate, corev1beta1.ConfigurationEnabled)
		})
		g.Eventually(func(g Gomega) {
			for _, c := range status(g) {
				g.Expect(c.RemoteStatus).To(BeNil(), "remote status of %s with the gate Disabled", c.Name)
			}
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())

		framework.SetFeatureGate(t.Context(), t, host, gate, corev1beta1.ConfigurationEnabled)
		g.Eventually(func(g Gomega) {
			for _, c := range status(g) {
				g.Expect(c.RemoteStatus).NotTo(BeNil(), "remote status of %s with the gate Enabled", c.Name)
			}
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
	})

	t.Run("one object of each of the ten default types propagates to both members", func(t *testing.T) {
		federateNamespace(t, host, "e2e-types", "local", "cce")
		for _, tc := range defaultTypeObjects() {
			if tc.manifest != "" {
				framework.ApplyObject(t, host, fedObject(t, tc.manifest))
			}
		}
		for _, tc := range defaultTypeObjects() {
			for name, mc := range members {
				NewWithT(t).Eventually(func(g Gomega) {
					got, err := framework.GetObject(t.Context(), mc, tc.target, tc.namespace, tc.name)
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(got).NotTo(BeNil())
					g.Expect(got.GetLabels()).To(HaveKeyWithValue("kubefed.io/managed", "true"))
				}).WithTimeout(wait).WithPolling(poll).Should(Succeed(), "%s %s in %s", tc.target.Kind, tc.name, name)
			}
		}
	})

	t.Run("changing the placement moves the object; a selector picks clusters by label", func(t *testing.T) {
		g := NewWithT(t)
		federateNamespace(t, host, "e2e-move", "local", "cce")
		framework.ApplyObject(t, host, configMap("e2e-move", "moving", map[string]any{"k": "v"}, "local"))
		g.Eventually(presence(t, members, configMapGVK, "e2e-move", "moving")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]bool{"local": true, "cce": false}))
		framework.ApplyObject(t, host, configMap("e2e-move", "moving", map[string]any{"k": "v"}, "cce"))
		g.Eventually(presence(t, members, configMapGVK, "e2e-move", "moving")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]bool{"local": false, "cce": true}))
		sel := configMap("e2e-move", "moving", map[string]any{"k": "v"})
		unstructured.RemoveNestedField(sel.Object, "spec", "placement", "clusters")
		g.Expect(unstructured.SetNestedField(sel.Object, map[string]any{"matchLabels": map[string]any{"region": "lab-local"}}, "spec", "placement", "clusterSelector")).To(Succeed())
		g.Expect(host.Patch(t.Context(), sel, client.RawPatch("application/merge-patch+json",
			[]byte(`{"spec":{"placement":{"clusters":null,"clusterSelector":{"matchLabels":{"region":"lab-local"}}}}}`)))).To(Succeed())
		g.Eventually(presence(t, members, configMapGVK, "e2e-move", "moving")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]bool{"local": true, "cce": false}))
	})

	t.Run("an override of /metadata/labels without an op adds labels to a template that has none", func(t *testing.T) {
		// KubeFed's e2e suite updates federated objects this way; the replace creates the labels.
		g := NewWithT(t)
		federateNamespace(t, host, "e2e-labels", "local", "cce")
		cm := configMap("e2e-labels", "labelled", map[string]any{"k": "v"}, "local", "cce")
		framework.ApplyObject(t, host, cm)
		g.Eventually(presence(t, members, configMapGVK, "e2e-labels", "labelled")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]bool{"local": true, "cce": true}))
		g.Expect(unstructured.SetNestedSlice(cm.Object, []any{map[string]any{
			"clusterName":      "cce",
			"clusterOverrides": []any{map[string]any{"path": "/metadata/labels", "value": map[string]any{"team": "a"}}},
		}}, "spec", "overrides")).To(Succeed())
		framework.ApplyObject(t, host, cm)
		g.Eventually(func(g Gomega) {
			got, err := framework.GetObject(t.Context(), members["cce"], configMapGVK, "e2e-labels", "labelled")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).NotTo(BeNil())
			g.Expect(got.GetLabels()).To(HaveKeyWithValue("team", "a"))
			g.Expect(got.GetLabels()).To(HaveKeyWithValue("kubefed.io/managed", "true"))
			st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, "e2e-labels", "labelled")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(clusterStatuses(st)).To(Equal([]string{"cce=", "local="}))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		local, err := framework.GetObject(t.Context(), members["local"], configMapGVK, "e2e-labels", "labelled")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(local.GetLabels()).NotTo(HaveKey("team"), "the override is for cce only")
	})

	t.Run("a namespaced object whose namespace is not federated reports NamespaceNotFederated", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(host.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-plain"}})).To(Succeed())
		framework.ApplyObject(t, host, configMap("e2e-plain", "lonely", map[string]any{"k": "v"}, "local", "cce"))
		g.Eventually(func() (string, error) {
			st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, "e2e-plain", "lonely")
			return propagation(st), err
		}).WithTimeout(wait).WithPolling(poll).Should(Equal("False/NamespaceNotFederated"))
		g.Consistently(presence(t, members, configMapGVK, "e2e-plain", "lonely")).WithTimeout(2 * time.Second).Should(Equal(map[string]bool{"local": false, "cce": false}))
	})

	t.Run("a placement that cannot be computed says why in the status", func(t *testing.T) {
		testPlacementFailure(t, host)
	})

	t.Run("names that are not registered clusters are ignored, and named, 10 of 500", func(t *testing.T) {
		testUnknownClusters(t, fed)
	})

	t.Run("a template whose metadata.labels is not a map says ComputeResourceFailed in the status and the event", func(t *testing.T) {
		testTemplateThatCannotBeRendered(t, fed)
	})

	t.Run("template values: each member gets its own name and labels; a value that cannot be filled in fails that cluster alone", func(t *testing.T) {
		testTemplateValues(t, fed)
	})

	t.Run("drift: an edited replica count is reverted, a label added by someone else survives", func(t *testing.T) {
		g := NewWithT(t)
		mc := members["cce"]
		d, err := framework.GetObject(t.Context(), mc, deploymentGVK, "test-namespace", "test-deployment")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(mc.Patch(t.Context(), d, client.RawPatch("application/merge-patch+json",
			[]byte(`{"metadata":{"labels":{"team":"payments"}},"spec":{"replicas":9}}`)), client.FieldOwner("someone-else"))).To(Succeed())
		edited := time.Now()
		g.Eventually(func() (int64, error) {
			d, err := framework.GetObject(t.Context(), mc, deploymentGVK, "test-namespace", "test-deployment")
			if err != nil {
				return 0, err
			}
			r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
			return r, nil
		}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(BeEquivalentTo(5))
		t.Logf("replicas reverted to 5 in %v", time.Since(edited).Round(time.Millisecond))
		d, err = framework.GetObject(t.Context(), mc, deploymentGVK, "test-namespace", "test-deployment")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(d.GetLabels()).To(HaveKeyWithValue("team", "payments"))
	})

	t.Run("existing objects: adopted, or left alone with managed=false", func(t *testing.T) {
		g := NewWithT(t)
		federateNamespace(t, host, "e2e-adopt", "local", "cce")
		g.Eventually(presence(t, members, schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, "", "e2e-adopt")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]bool{"local": true, "cce": true}))
		// An unlabelled object is adopted (KubeFedConfig adoptResources defaults to Enabled).
		g.Expect(members["local"].Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "existing", Namespace: "e2e-adopt"}, Data: map[string]string{"k": "old"}})).To(Succeed())
		// An object labelled managed=false is left alone.
		g.Expect(members["cce"].Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "existing", Namespace: "e2e-adopt", Labels: map[string]string{"kubefed.io/managed": "false"}}, Data: map[string]string{"k": "mine"}})).To(Succeed())
		framework.ApplyObject(t, host, configMap("e2e-adopt", "existing", map[string]any{"k": "new"}, "local", "cce"))
		g.Eventually(func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(members["local"].Get(t.Context(), client.ObjectKey{Namespace: "e2e-adopt", Name: "existing"}, cm)).To(Succeed())
			g.Expect(cm.Data).To(HaveKeyWithValue("k", "new"))
			g.Expect(cm.Labels).To(HaveKeyWithValue("kubefed.io/managed", "true"))
			st, err := fedStatus(t.Context(), host, federatedConfigMapGVK, "e2e-adopt", "existing")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(clusterStatuses(st)).To(Equal([]string{"cce=ManagedLabelFalse", "local="}))
			g.Expect(propagation(st)).To(Equal("False/CheckClusters"))
		}).WithTimeout(wait).WithPolling(poll).Should(Succeed())
		cm := &corev1.ConfigMap{}
		g.Expect(members["cce"].Get(t.Context(), client.ObjectKey{Namespace: "e2e-adopt", Name: "existing"}, cm)).To(Succeed())
		g.Expect(cm.Data).To(HaveKeyWithValue("k", "mine"))
	})

	t.Run("over 60 s with nothing changing, no write reaches any member", func(t *testing.T) {
		g := NewWithT(t)
		// Let everything settle: no member write for 5 s.
		var last float64
		g.Eventually(func() bool {
			_, w := ctrlA.MemberWrites(t, local, cce)
			same := w == last
			last = w
			return same
		}).WithTimeout(wait).WithPolling(5 * time.Second).Should(BeTrue())
		reqBefore, writesBefore := ctrlA.MemberWrites(t, local, cce)
		samplesBefore := ctrlA.MetricSamples(t, "fedplane_member_writes_total")
		time.Sleep(60 * time.Second)
		reqAfter, writesAfter := ctrlA.MemberWrites(t, local, cce)
		t.Logf("member write requests over 60 s: %v (fedplane_member_writes_total: %v); before: %v requests in total", reqAfter-reqBefore, writesAfter-writesBefore, reqBefore)
		for _, line := range ctrlA.MetricSamples(t, "fedplane_member_writes_total") {
			if !slices.Contains(samplesBefore, line) {
				t.Logf("written while idle: %s", line)
			}
		}
		g.Expect(reqAfter - reqBefore).To(BeZero())
		g.Expect(writesAfter - writesBefore).To(BeZero())
		g.Expect(reqBefore).To(BeNumerically(">", 0), "the count is of real requests")
	})

	t.Run("deleting removes every copy; orphaning keeps them without the managed label", func(t *testing.T) {
		g := NewWithT(t)
		federateNamespace(t, host, "e2e-delete", "local", "cce")
		framework.ApplyObject(t, host, configMap("e2e-delete", "gone", map[string]any{"k": "v"}, "local", "cce"))
		kept := configMap("e2e-delete", "kept", map[string]any{"k": "v"}, "local", "cce")
		kept.SetAnnotations(map[string]string{contract.OrphanAnnotation: "true"})
		framework.ApplyObject(t, host, kept)
		both := map[string]bool{"local": true, "cce": true}
		g.Eventually(presence(t, members, configMapGVK, "e2e-delete", "gone")).WithTimeout(wait).WithPolling(poll).Should(Equal(both))
		g.Eventually(presence(t, members, configMapGVK, "e2e-delete", "kept")).WithTimeout(wait).WithPolling(poll).Should(Equal(both))

		g.Expect(host.Delete(t.Context(), configMap("e2e-delete", "gone", nil))).To(Succeed())
		g.Expect(host.Delete(t.Context(), configMap("e2e-delete", "kept", nil))).To(Succeed())
		g.Eventually(presence(t, members, configMapGVK, "e2e-delete", "gone")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]bool{"local": false, "cce": false}))
		g.Eventually(func() (bool, error) {
			o, err := framework.GetObject(t.Context(), host, federatedConfigMapGVK, "e2e-delete", "kept")
			return o == nil, err
		}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "the orphaned federated object goes")
		for name, mc := range members {
			cm := &corev1.ConfigMap{}
			g.Expect(mc.Get(t.Context(), client.ObjectKey{Namespace: "e2e-delete", Name: "kept"}, cm)).To(Succeed(), name)
			g.Expect(cm.Labels).NotTo(HaveKey("kubefed.io/managed"), name)
			g.Expect(cm.Annotations).NotTo(HaveKey(contract.ControlPlaneAnnotation), name)
		}
	})

	t.Run("a type is disabled and enabled again without a restart", func(t *testing.T) {
		g := NewWithT(t)
		ftc := &corev1beta1.FederatedTypeConfig{}
		key := client.ObjectKey{Namespace: ns, Name: "configmaps"}
		setPropagation := func(mode corev1beta1.PropagationMode) {
			g.Expect(host.Get(t.Context(), key, ftc)).To(Succeed())
			patch := client.MergeFrom(ftc.DeepCopy())
			ftc.Spec.Propagation = mode
			g.Expect(host.Patch(t.Context(), ftc, patch)).To(Succeed())
		}
		controllerStatus := func() (corev1beta1.ControllerStatus, error) {
			err := host.Get(t.Context(), key, ftc)
			return ftc.Status.PropagationController, err
		}
		setPropagation(corev1beta1.PropagationDisabled)
		g.Eventually(controllerStatus).WithTimeout(wait).WithPolling(poll).Should(Equal(corev1beta1.ControllerStatusNotRunning))
		framework.ApplyObject(t, host, configMap("e2e-move", "while-disabled", map[string]any{"k": "v"}, "local"))
		g.Consistently(presence(t, members, configMapGVK, "e2e-move", "while-disabled")).WithTimeout(3 * time.Second).Should(Equal(map[string]bool{"local": false, "cce": false}))
		setPropagation(corev1beta1.PropagationEnabled)
		g.Eventually(controllerStatus).WithTimeout(wait).WithPolling(poll).Should(Equal(corev1beta1.ControllerStatusRunning))
		g.Eventually(presence(t, members, configMapGVK, "e2e-move", "while-disabled")).WithTimeout(wait).WithPolling(poll).Should(Equal(map[string]bool{"local": true, "cce": false}))
	})

	t.Run("a custom resource type propagates", func(t *testing.T) {
		testCustomResourceType(t, host, members)
	})

	t.Run("a second control plane never writes the first one's objects and reports the conflict", func(t *testing.T) {
		testFencing(t, host, members["local"])
	})

	t.Run("with cce stopped, 50 new objects reach local without waiting, and cce catches up", func(t *testing.T) {
		testStoppedMember(t, host, members, cce)
	})

	t.Run("deleteoption: a FederatedDeployment deleted with propagationPolicy Orphan leaves the member's ReplicaSet", func(t *testing.T) {
		testDeleteOptions(t, host, members["local"])
	})

	t.Run("unmanaged: a member object labelled managed with no federated object loses the label, unless another owns it", func(t *testing.T) {
		testManagedLabelRemoved(t, host, members["local"])
	})

	t.Run("hostns: with the host joined as a member, deleting its namespace or the FederatedNamespace finishes", func(t *testing.T) {
		testHostNamespace(t, host, members["local"])
	})
}

// presence tells, per member, whether the object exists there.
func presence(t *testing.T, members map[string]client.Client, gvk schema.GroupVersionKind, namespace, name string) func() (map[string]bool, error) {
	return func() (map[string]bool, error) {
		out := map[string]bool{}
		for n, mc := range members {
			o, err := framework.GetObject(t.Context(), mc, gvk, namespace, name)
			if err != nil {
				return nil, err
			}
			out[n] = o != nil
		}
		return out, nil
	}
}

type typeObject struct {
	target          schema.GroupVersionKind
	namespace, name string
	manifest        string
}

// defaultTypeObjects has one federated object of each default type (the FederatedNamespace
// of the namespace e2e-types is the tenth).
func defaultTypeObjects() []typeObject {
	placement := "  placement:\n    clusters: [{name: local}, {name: cce}]\n"
	fed := func(kind, namespace, name, template string) string {
		meta := "metadata: {name: " + name + ", namespace: " + namespace + "}\n"
		if namespace == "" {
			meta = "metadata: {name: " + name + "}\n"
		}
		return "apiVersion: types.kubefed.io/v1beta1\nkind: Federated" + kind + "\n" + meta + "spec:\n  template:\n" + template + placement
	}
	return []typeObject{
		{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, "", "e2e-role",
			fed("ClusterRole", "", "e2e-role", "    rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n")},
		{configMapGVK, "e2e-types", "e2e-cm", fed("ConfigMap", "e2e-types", "e2e-cm", "    data: {a: b}\n")},
		{deploymentGVK, "e2e-types", "e2e-deploy", fed("Deployment", "e2e-types", "e2e-deploy",
			"    spec:\n      replicas: 1\n      selector: {matchLabels: {app: d}}\n      template:\n        metadata: {labels: {app: d}}\n        spec: {containers: [{name: c, image: nginx}]}\n")},
		{schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}, "e2e-types", "e2e-ing", fed("Ingress", "e2e-types", "e2e-ing",
			"    spec:\n      defaultBackend: {service: {name: web, port: {number: 80}}}\n")},
		{schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, "e2e-types", "e2e-job", fed("Job", "e2e-types", "e2e-job",
			"    spec:\n      template:\n        spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}\n")},
		{schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, "", "e2e-types", ""},
		{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, "e2e-types", "e2e-rs", fed("ReplicaSet", "e2e-types", "e2e-rs",
			"    spec:\n      replicas: 1\n      selector: {matchLabels: {app: r}}\n      template:\n        metadata: {labels: {app: r}}\n        spec: {containers: [{name: c, image: nginx}]}\n")},
		{schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, "e2e-types", "e2e-secret", fed("Secret", "e2e-types", "e2e-secret", "    stringData: {password: hunter2}\n")},
		{schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, "e2e-types", "e2e-sa", fed("ServiceAccount", "e2e-types", "e2e-sa", "    metadata: {labels: {a: b}}\n")},
		{schema.GroupVersionKind{Version: "v1", Kind: "Service"}, "e2e-types", "e2e-svc", fed("Service", "e2e-types", "e2e-svc",
			"    spec: {selector: {app: d}, ports: [{port: 80}]}\n")},
	}
}
