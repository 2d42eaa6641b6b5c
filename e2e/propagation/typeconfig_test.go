package propagation_test

import (
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// typeSyncTimeout is the --type-cache-sync-timeout of the tests that make a cache fail to sync.
const typeSyncTimeout = 3 * time.Second

// startTypesFederation is StartFederation with members local and cce and extra flags for
// fed-controller.
func startTypesFederation(t *testing.T, extra ...string) framework.Federation {
	t.Helper()
	f := framework.Federation{Host: framework.InstallHost(t, lab.Host()), Members: map[string]client.Client{}}
	scheme := f.Host.Scheme()
	if !scheme.IsGroupRegistered(apiextv1.GroupName) {
		NewWithT(t).Expect(apiextv1.AddToScheme(scheme)).To(Succeed())
	}
	members := []string{"local", "cce"}
	for _, name := range members {
		m := lab.Cluster(name)
		// An earlier test of the package may have registered it.
		err := f.Host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &corev1beta1.KubeFedCluster{})
		if apierrors.IsNotFound(err) {
			framework.RegisterMember(t, f.Host, m, map[string]string{"region": "lab-" + name})
		}
		mc := framework.MemberClient(t, m)
		if !mc.Scheme().IsGroupRegistered(apiextv1.GroupName) {
			NewWithT(t).Expect(apiextv1.AddToScheme(mc.Scheme())).To(Succeed())
		}
		f.Members[name] = mc
	}
	f.Controller = framework.StartController(t, controllerBinary, lab.Host(), "fedplane-a", extra...)
	for _, name := range members {
		NewWithT(t).Eventually(func() (bool, error) {
			kfc := &corev1beta1.KubeFedCluster{}
			err := f.Host.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, kfc)
			return cluster.IsReady(kfc.Status), err
		}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "member %s is Ready", name)
	}
	return f
}

// typeCRDs are a custom target kind (group example.com, version v1, with an integer
// spec.size) and its federated kind, named after kind.
func typeCRDs(kind string) (target, federated *apiextv1.CustomResourceDefinition) {
	lower := strings.ToLower(kind)
	target = widgetCRD()
	target.Name = lower + "s.example.com"
	target.Spec.Names = apiextv1.CustomResourceDefinitionNames{Plural: lower + "s", Singular: lower, Kind: kind, ListKind: kind + "List"}
	federated = federatedWidgetCRD()
	federated.Name = "federated" + lower + "s.types.kubefed.io"
	federated.Spec.Names = apiextv1.CustomResourceDefinitionNames{Plural: "federated" + lower + "s", Singular: "federated" + lower, Kind: "Federated" + kind, ListKind: "Federated" + kind + "List"}
	return target, federated
}

// typeConfig is the FederatedTypeConfig of a kind of typeCRDs, with its federated type at
// version.
func typeConfig(kind, version string) *corev1beta1.FederatedTypeConfig {
	lower := strings.ToLower(kind)
	return &corev1beta1.FederatedTypeConfig{
		ObjectMeta: metav1.ObjectMeta{Name: lower + "s.example.com", Namespace: ns},
		Spec: corev1beta1.FederatedTypeConfigSpec{
			TargetType:    corev1beta1.APIResource{Group: "example.com", Version: "v1", Kind: kind, PluralName: lower + "s", Scope: corev1beta1.NamespaceScoped},
			FederatedType: corev1beta1.APIResource{Group: "types.kubefed.io", Version: version, Kind: "Federated" + kind, PluralName: "federated" + lower + "s", Scope: corev1beta1.NamespaceScoped},
			Propagation:   corev1beta1.PropagationEnabled,
		},
	}
}

// typeState is what a FederatedTypeConfig reports: status.propagationController, and the
// reason and message of its condition PropagationControllerRunning. It reads the object
// unstructured, so that it reads any version of the status.
type typeState struct {
	Controller, Reason, Message string
}

func readTypeState(t *testing.T, host client.Client, name string) func() (typeState, error) {
	return func() (typeState, error) {
		obj, err := framework.GetObject(t.Context(), host, corev1beta1.GroupVersion.WithKind("FederatedTypeConfig"), ns, name)
		if err != nil || obj == nil {
			return typeState{}, err
		}
		var st typeState
		st.Controller, _, _ = unstructured.NestedString(obj.Object, "status", "propagationController")
		conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
		for _, c := range conditions {
			if m, ok := c.(map[string]any); ok && m["type"] == "PropagationControllerRunning" {
				st.Reason, _ = m["reason"].(string)
				st.Message, _ = m["message"].(string)
			}
		}
		return st, nil
	}
}

// memberSize reads spec.size of an object of kind gvk in a member, or -1 when there is none.
func memberSize(t *testing.T, mc client.Client, gvk schema.GroupVersionKind, namespace, name string) func() (int64, error) {
	return func() (int64, error) {
		o, err := framework.GetObject(t.Context(), mc, gvk, namespace, name)
		if err != nil || o == nil {
			return -1, err
		}
		size, _, _ := unstructured.NestedInt64(o.Object, "spec", "size")
		return size, nil
	}
}

// logCount counts the lines of the fed-controller log that hold every one of words.
func logCount(t *testing.T, c *framework.Controller, words ...string) int {
	t.Helper()
	b, err := os.ReadFile(c.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			n++
		}
	}
	return n
}

// ftcEvents returns the reasons of the events about a FederatedTypeConfig.
func ftcEvents(t *testing.T, host client.Client, name string) func() ([]string, error) {
	return func() ([]string, error) {
		list := &eventsv1.EventList{}
		if err := host.List(t.Context(), list, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		reasons := []string{}
		for _, e := range list.Items {
			if e.Regarding.Kind == "FederatedTypeConfig" && e.Regarding.Name == name {
				reasons = append(reasons, e.Reason)
			}
		}
		return reasons, nil
	}
}

// TestTypeControllerRetriesUntilItsCacheSyncs enables at run time a type whose federated kind
// cannot be listed at the FederatedTypeConfig's version (its objects are stored at another
// version and the conversion webhook does not answer), so that its cache never syncs. The
// FederatedTypeConfig must say NotRunning with the reason while fed-controller retries, and
// Running once the kind can be listed, with the objects propagated, and no restart.
func TestTypeControllerRetriesUntilItsCacheSyncs(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	fed := startTypesFederation(t, "--type-cache-sync-timeout", typeSyncTimeout.String())
	host, members := fed.Host, fed.Members
	federateNamespace(t, host, "e2e-gadgets", "local", "cce")

	target, federated := typeCRDs("Gadget")
	for _, mc := range members {
		createCRD(t, mc, target.DeepCopy())
	}
	createCRD(t, host, target.DeepCopy())
	// The federated kind is stored at v1beta2 and served at v1beta1 too, through a conversion
	// webhook at a port where nothing listens: listing at v1beta1 fails while an object exists.
	stored := federated.Spec.Versions[0]
	stored.Name = "v1beta2"
	served := federated.Spec.Versions[0]
	served.Storage = false
	federated.Spec.Versions = []apiextv1.CustomResourceDefinitionVersion{served, stored}
	federated.Spec.Conversion = &apiextv1.CustomResourceConversion{
		Strategy: apiextv1.WebhookConverter,
		Webhook: &apiextv1.WebhookConversion{
			ClientConfig:             &apiextv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:1/convert")},
			ConversionReviewVersions: []string{"v1"},
		},
	}
	createCRD(t, host, federated.DeepCopy())
	framework.ApplyObject(t, host, fedObject(t, `
apiVersion: types.kubefed.io/v1beta2
kind: FederatedGadget
metadata: {name: cog, namespace: e2e-gadgets}
spec:
  template: {spec: {size: 4}}
  placement: {clusters: [{name: local}, {name: cce}]}
`))
	ftc := typeConfig("Gadget", "v1beta1")
	g.Expect(host.Create(t.Context(), ftc)).To(Succeed())
	enabled := time.Now()

	// The cache cannot sync: NotRunning, with the reason and what listing answers.
	g.Eventually(readTypeState(t, host, ftc.Name)).WithTimeout(wait).WithPolling(poll).Should(And(
		HaveField("Controller", "NotRunning"),
		HaveField("Reason", "CacheSyncFailed"),
		HaveField("Message", ContainSubstring("conversion webhook")),
	))
	t.Logf("the FederatedTypeConfig says NotRunning/CacheSyncFailed %v after it was created", time.Since(enabled).Round(time.Millisecond))
	// It is retried: a second attempt fails too, after a backoff.
	g.Eventually(func() int { return logCount(t, fed.Controller, "started again after a backoff", ftc.Name) }).
		WithTimeout(wait).WithPolling(poll).Should(BeNumerically(">=", 2))
	g.Expect(readTypeState(t, host, ftc.Name)()).To(HaveField("Controller", "NotRunning"), "never Running while the cache cannot sync")
	g.Eventually(ftcEvents(t, host, ftc.Name)).WithTimeout(wait).WithPolling(poll).Should(ContainElement("CacheSyncFailed"))

	// The kind becomes listable: the conversion no longer needs the webhook.
	crd := &apiextv1.CustomResourceDefinition{}
	g.Expect(host.Get(t.Context(), client.ObjectKey{Name: federated.Name}, crd)).To(Succeed())
	patch := client.MergeFrom(crd.DeepCopy())
	crd.Spec.Conversion = &apiextv1.CustomResourceConversion{Strategy: apiextv1.NoneConverter}
	g.Expect(host.Patch(t.Context(), crd, patch)).To(Succeed())
	fixed := time.Now()

	g.Eventually(readTypeState(t, host, ftc.Name)).WithTimeout(2 * time.Minute).WithPolling(poll).Should(And(
		HaveField("Controller", "Running"),
		HaveField("Reason", "Running"),
	))
	t.Logf("the FederatedTypeConfig says Running %v after the kind could be listed", time.Since(fixed).Round(time.Millisecond))
	gadgetGVK := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Gadget"}
	for name, mc := range members {
		g.Eventually(memberSize(t, mc, gadgetGVK, "e2e-gadgets", "cog")).WithTimeout(wait).WithPolling(poll).Should(BeEquivalentTo(4), "gadget in %s", name)
	}
	g.Expect(ftcEvents(t, host, ftc.Name)()).To(ContainElement("Running"))
	g.Expect(logCount(t, fed.Controller, "starting fed-controller")).To(Equal(1), "fed-controller was not restarted")
}

// customType is a custom federated type enabled by enableCustomType.
type customType struct {
	fed               framework.Federation
	target, federated *apiextv1.CustomResourceDefinition
	ftc               *corev1beta1.FederatedTypeConfig
	gvk               schema.GroupVersionKind
	// object is a federated object of the type in the namespace, placed on local and cce.
	object func(name string, size int) *unstructured.Unstructured
}

// enableCustomType starts a federation, federates namespace to local and cce, creates the CRDs
// of kind (example.com/v1) and of its federated type, and enables the type, waiting until its
// controller runs.
func enableCustomType(t *testing.T, kind, namespace string) customType {
	t.Helper()
	g := NewWithT(t)
	ct := customType{fed: startTypesFederation(t), gvk: schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: kind}}
	host := ct.fed.Host
	federateNamespace(t, host, namespace, "local", "cce")
	ct.target, ct.federated = typeCRDs(kind)
	for _, mc := range ct.fed.Members {
		createCRD(t, mc, ct.target.DeepCopy())
	}
	createCRD(t, host, ct.target.DeepCopy())
	createCRD(t, host, ct.federated.DeepCopy())
	ct.ftc = typeConfig(kind, "v1beta1")
	g.Expect(host.Create(t.Context(), ct.ftc)).To(Succeed())
	g.Eventually(readTypeState(t, host, ct.ftc.Name)).WithTimeout(wait).WithPolling(poll).Should(HaveField("Controller", "Running"))
	ct.object = func(name string, size int) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "types.kubefed.io/v1beta1", "kind": "Federated" + kind,
			"metadata": map[string]any{"name": name, "namespace": namespace},
			"spec": map[string]any{
				"template":  map[string]any{"spec": map[string]any{"size": int64(size)}},
				"placement": map[string]any{"clusters": []any{map[string]any{"name": "local"}, map[string]any{"name": "cce"}}},
			},
		}}
	}
	return ct
}

// TestRemovingACRDStopsItsWatches enables a custom type, then deletes its federated CRD: the
// FederatedTypeConfig must say NotRunning (KindNotServed) within seconds, and fed-controller
// stop watching the kind ("Failed to watch" no longer logged). Created again, the CRD brings
// the type back, and objects propagate again. Deleting the target's CRD in the host stops the
// type too.
func TestRemovingACRDStopsItsWatches(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	ct := enableCustomType(t, "Sprocket", "e2e-sprockets")
	fed, host, members, target, federated, ftc := ct.fed, ct.fed.Host, ct.fed.Members, ct.target, ct.federated, ct.ftc
	sprocket, sprocketGVK := ct.object, ct.gvk
	framework.ApplyObject(t, host, sprocket("before", 1))
	for name, mc := range members {
		g.Eventually(memberSize(t, mc, sprocketGVK, "e2e-sprockets", "before")).WithTimeout(wait).WithPolling(poll).Should(BeEquivalentTo(1), "sprocket in %s", name)
	}

	// Delete the federated CRD; its object goes first, through the sync controller.
	g.Expect(host.Delete(t.Context(), federated.DeepCopy())).To(Succeed())
	g.Eventually(func() bool {
		err := host.Get(t.Context(), client.ObjectKey{Name: federated.Name}, &apiextv1.CustomResourceDefinition{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(wait).WithPolling(poll).Should(BeTrue(), "the CRD is gone")
	gone := time.Now()
	g.Eventually(readTypeState(t, host, ftc.Name)).WithTimeout(10 * time.Second).WithPolling(poll).Should(And(
		HaveField("Controller", "NotRunning"),
		HaveField("Reason", "KindNotServed"),
	))
	t.Logf("the FederatedTypeConfig says NotRunning/KindNotServed %v after the CRD was gone", time.Since(gone).Round(time.Millisecond))
	g.Eventually(ftcEvents(t, host, ftc.Name)).WithTimeout(wait).WithPolling(poll).Should(ContainElement("KindNotServed"))

	// No more watch of the kind: the reflector would retry within 0.8 to 30 s.
	time.Sleep(time.Second)
	before := logCount(t, fed.Controller, "Failed to watch", "FederatedSprocket")
	time.Sleep(15 * time.Second)
	after := logCount(t, fed.Controller, "Failed to watch", "FederatedSprocket")
	g.Expect(after).To(Equal(before), "fed-controller still watches the deleted kind")
	t.Logf("%d lines of \"Failed to watch\" FederatedSprocket in all, none in the 15 s after the stop", after)
	g.Expect(readTypeState(t, host, ftc.Name)()).To(HaveField("Reason", "KindNotServed"))

	// The CRD comes back, and the type with it.
	createCRD(t, host, federated.DeepCopy())
	back := time.Now()
	g.Eventually(readTypeState(t, host, ftc.Name)).WithTimeout(wait).WithPolling(poll).Should(HaveField("Controller", "Running"))
	t.Logf("the FederatedTypeConfig says Running %v after the CRD was established again", time.Since(back).Round(time.Millisecond))
	framework.ApplyObject(t, host, sprocket("after", 2))
	for name, mc := range members {
		g.Eventually(memberSize(t, mc, sprocketGVK, "e2e-sprockets", "after")).WithTimeout(wait).WithPolling(poll).Should(BeEquivalentTo(2), "sprocket in %s", name)
	}

	// The target's CRD in the host goes: the type stops too.
	g.Expect(host.Delete(t.Context(), target.DeepCopy())).To(Succeed())
	g.Eventually(readTypeState(t, host, ftc.Name)).WithTimeout(wait).WithPolling(poll).Should(And(
		HaveField("Controller", "NotRunning"),
		HaveField("Reason", "KindNotServed"),
		HaveField("Message", ContainSubstring("target type")),
	))
}

// TestStoppingATypeStopsItsMemberWatches enables a custom type and propagates an object, then
// disables the type and removes the target's CRD from the members: fed-controller must stop
// watching the kind in the members ("Failed to watch" no longer logged for it, and
// fedplane_member_watched_kinds without it). Enabled again, with the CRDs back, the type
// watches the members afresh and propagates again; deleted, it stops watching them again.
func TestStoppingATypeStopsItsMemberWatches(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	ct := enableCustomType(t, "Gizmo", "e2e-gizmos")
	fed, host, members, target, ftc := ct.fed, ct.fed.Host, ct.fed.Members, ct.target, ct.ftc
	gizmo, gizmoGVK := ct.object, ct.gvk
	watched := func(member string) func() (float64, error) {
		return func() (float64, error) {
			return fed.Controller.ReadMetric("fedplane_member_watched_kinds", map[string]string{"cluster": member, "group": "example.com", "kind": "Gizmo"})
		}
	}
	framework.ApplyObject(t, host, gizmo("first", 1))
	for name, mc := range members {
		g.Eventually(memberSize(t, mc, gizmoGVK, "e2e-gizmos", "first")).WithTimeout(wait).WithPolling(poll).Should(BeEquivalentTo(1), "gizmo in %s", name)
		g.Eventually(watched(name)).WithTimeout(wait).WithPolling(poll).Should(BeEquivalentTo(1), "%s's Gizmos watched", name)
	}

	// stopped checks that the members' Gizmos are no longer watched once the type stopped and
	// the members no longer serve the kind.
	stopped := func(when string) {
		t.Helper()
		for name := range members {
			g.Eventually(watched(name)).WithTimeout(wait).WithPolling(poll).Should(BeZero(), "%s: %s's Gizmos still watched", when, name)
		}
		for name, mc := range members {
			g.Expect(mc.Delete(t.Context(), target.DeepCopy())).To(Succeed(), "delete the Gizmo CRD of %s", name)
		}
		// The reflector of a watch left behind would log within 0.8 to 30 s of each failure.
		time.Sleep(time.Second)
		before := logCount(t, fed.Controller, "Failed to watch", "Kind=Gizmo")
		time.Sleep(15 * time.Second)
		after := logCount(t, fed.Controller, "Failed to watch", "Kind=Gizmo")
		g.Expect(after).To(Equal(before), "%s: fed-controller still watches the members' Gizmos", when)
		t.Logf("%s: %d lines of \"Failed to watch\" Gizmo in all, none in the 15 s after the members' CRDs went", when, after)
	}

	// Disabled: the type stops, and with it the members' watches of its target kind.
	g.Expect(host.Get(t.Context(), client.ObjectKeyFromObject(ftc), ftc)).To(Succeed())
	patch := client.MergeFrom(ftc.DeepCopy())
	ftc.Spec.Propagation = corev1beta1.PropagationDisabled
	g.Expect(host.Patch(t.Context(), ftc, patch)).To(Succeed())
	g.Eventually(readTypeState(t, host, ftc.Name)).WithTimeout(wait).WithPolling(poll).Should(HaveField("Controller", "NotRunning"))
	stopped("disabled")

	// Enabled again, with the members' CRDs back: the members are watched afresh.
	for _, mc := range members {
		createCRD(t, mc, target.DeepCopy())
	}
	g.Expect(host.Get(t.Context(), client.ObjectKeyFromObject(ftc), ftc)).To(Succeed())
	patch = client.MergeFrom(ftc.DeepCopy())
	ftc.Spec.Propagation = corev1beta1.PropagationEnabled
	g.Expect(host.Patch(t.Context(), ftc, patch)).To(Succeed())
	g.Eventually(readTypeState(t, host, ftc.Name)).WithTimeout(wait).WithPolling(poll).Should(HaveField("Controller", "Running"))
	framework.ApplyObject(t, host, gizmo("second", 2))
	for name, mc := range members {
		g.Eventually(memberSize(t, mc, gizmoGVK, "e2e-gizmos", "second")).WithTimeout(wait).WithPolling(poll).Should(BeEquivalentTo(2), "gizmo in %s", name)
		g.Eventually(watched(name)).WithTimeout(wait).WithPolling(poll).Should(BeEquivalentTo(1), "%s's Gizmos watched again", name)
	}

	// Deleted: the same.
	g.Expect(host.Delete(t.Context(), ftc)).To(Succeed())
	stopped("deleted")
}

// TestKubeFedMetricNamesAreExported scrapes fed-controller's /metrics: KubeFed's metric names
// must be there beside fedplane's, with values that agree with the control plane's state.
func TestKubeFedMetricNamesAreExported(t *testing.T) {
	framework.Require(t, lab)
	g := NewWithT(t)
	fed := startTypesFederation(t)
	host := fed.Host
	readyClusters := func() (float64, error) {
		list := &corev1beta1.KubeFedClusterList{}
		if err := host.List(t.Context(), list, client.InNamespace(ns)); err != nil {
			return 0, err
		}
		n := 0.0
		for _, c := range list.Items {
			if cluster.IsReady(c.Status) {
				n++
			}
		}
		return n, nil
	}
	ready, err := readyClusters()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ready).To(BeNumerically(">=", 2))
	metric := func(name string, match map[string]string) func() (float64, error) {
		return func() (float64, error) { return fed.Controller.ReadMetric(name, match) }
	}
	g.Eventually(metric("kubefedcluster_total", map[string]string{"state": "ready"})).WithTimeout(wait).WithPolling(poll).Should(Equal(ready))
	g.Expect(fed.Controller.Metric(t, "kubefedcluster_total", map[string]string{"state": "ready", "cluster": "local"})).To(BeEquivalentTo(1))
	g.Expect(fed.Controller.Metric(t, "kubefedcluster_total", map[string]string{"state": "offline", "cluster": "local"})).To(BeZero())
	g.Expect(fed.Controller.Metric(t, "joined_cluster_total", nil)).To(BeNumerically(">=", ready))
	g.Eventually(metric("cluster_health_status_duration_seconds_count", nil)).WithTimeout(wait).WithPolling(poll).Should(BeNumerically(">=", ready))
	g.Expect(fed.Controller.Metric(t, "cluster_client_connection_duration_seconds_count", nil)).To(BeNumerically(">=", 2))

	federateNamespace(t, host, "e2e-metrics", "local", "cce")
	framework.ApplyObject(t, host, configMap("e2e-metrics", "counted", map[string]any{"a": "1"}, "local", "cce"))
	g.Eventually(metric("dispatch_operation_duration_seconds_count", map[string]string{"action": "create"})).WithTimeout(wait).WithPolling(poll).Should(BeNumerically(">=", 2))
	// Both are recorded as the reconcile returns, a moment after its writes.
	g.Eventually(metric("reconcile_federated_resources_duration_seconds_count", nil)).WithTimeout(wait).WithPolling(poll).Should(BeNumerically(">=", 1))
	// controller-runtime's own metrics carry KubeFed's controller metric names.
	g.Eventually(metric("controller_runtime_reconcile_total", map[string]string{"controller": "sync-configmaps"})).WithTimeout(wait).WithPolling(poll).Should(BeNumerically(">=", 1))
}
