package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/manifests"
)

// obj decodes a YAML object.
func obj(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatalf("invalid test object: %v", err)
	}
	return u
}

// typeConfig is the FederatedTypeConfig of a namespaced v1 target type with the default
// federated type.
func typeConfig(group, kind, plural string) *corev1beta1.FederatedTypeConfig {
	r := apiResource(plural, "", kind, true)
	r.Group, r.Version = group, "v1"
	return targetFor(r, "", "").TypeConfig("kube-federation-system")
}

func TestSkipReason(t *testing.T) {
	cases := []struct {
		name   string
		target *corev1beta1.FederatedTypeConfig
		in     string
		want   string
	}{
		{name: "a plain object is federated", target: typeConfig("", "ConfigMap", "configmaps"),
			in: `{kind: ConfigMap, metadata: {name: settings}}`, want: ""},
		{name: "the root CA ConfigMap", target: typeConfig("", "ConfigMap", "configmaps"),
			in: `{kind: ConfigMap, metadata: {name: kube-root-ca.crt}}`, want: "published by Kubernetes in every namespace"},
		{name: "the default ServiceAccount", target: typeConfig("", "ServiceAccount", "serviceaccounts"),
			in: `{kind: ServiceAccount, metadata: {name: default}}`, want: "created by Kubernetes in every namespace"},
		{name: "another ServiceAccount is federated", target: typeConfig("", "ServiceAccount", "serviceaccounts"),
			in: `{kind: ServiceAccount, metadata: {name: builder}}`, want: ""},
		{name: "a service account token", target: typeConfig("", "Secret", "secrets"),
			in: `{kind: Secret, type: kubernetes.io/service-account-token, metadata: {name: builder-token}}`, want: "a service account token, filled in by Kubernetes"},
		{name: "an opaque Secret is federated", target: typeConfig("", "Secret", "secrets"),
			in: `{kind: Secret, type: Opaque, metadata: {name: creds}}`, want: ""},
		{name: "an object with a controller", target: typeConfig("apps", "ReplicaSet", "replicasets"),
			in:   `{kind: ReplicaSet, metadata: {name: web-5d8f, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: 1, controller: true}]}}`,
			want: "managed by its owner Deployment web"},
		{name: "an owner that is no controller does not count", target: typeConfig("", "ConfigMap", "configmaps"),
			in: `{kind: ConfigMap, metadata: {name: settings, ownerReferences: [{apiVersion: v1, kind: Secret, name: creds, uid: 1}]}}`, want: ""},
		{name: "an object propagated by a control plane", target: typeConfig("", "ConfigMap", "configmaps"),
			in: `{kind: ConfigMap, metadata: {name: settings, labels: {kubefed.io/managed: "true"}}}`, want: "propagated by a control plane (kubefed.io/managed=true)"},
		{name: "an object being deleted", target: typeConfig("", "ConfigMap", "configmaps"),
			in: `{kind: ConfigMap, metadata: {name: settings, deletionTimestamp: "2026-01-01T00:00:00Z"}}`, want: "being deleted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := skipReason(tc.target, obj(t, tc.in)); got != tc.want {
				t.Errorf("skipReason() = %q, want %q", got, tc.want)
			}
		})
	}
}

// federatedIn lists the names of the objects of a federated type in a namespace.
func federatedIn(t *testing.T, dyn dynamic.Interface, kind, namespace string) []string {
	t.Helper()
	gvr := typesv1beta1.GroupVersion.WithResource(strings.ToLower(kind) + "s")
	list, err := dyn.Resource(gvr).Namespace(namespace).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list %s: %v", kind, err)
	}
	names := []string{}
	for _, item := range list.Items {
		names = append(names, item.GetName())
	}
	return names
}

func TestFederate(t *testing.T) {
	hostAPI(t)
	g := NewWithT(t)
	a, err := framework.NewApplier(lab.Host().RESTConfig())
	g.Expect(err).NotTo(HaveOccurred())
	// What Kubernetes creates in a namespace is created here too, in case its controllers are
	// slower than the test.
	objs, err := manifests.Decode([]byte(`
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}", team: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {color: blue}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-root-ca.crt, namespace: shop}
data: {ca.crt: none}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: shop}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: builder, namespace: shop}
---
apiVersion: v1
kind: Secret
metadata: {name: builder-token, namespace: shop, annotations: {kubernetes.io/service-account.name: builder}}
type: kubernetes.io/service-account-token
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
stringData: {password: hunter2}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: PodTemplate
metadata: {name: tpl, namespace: shop}
template: {spec: {containers: [{name: c, image: busybox}]}}
`))
	g.Expect(err).NotTo(HaveOccurred())
	for _, o := range objs {
		if _, err := a.Create(t.Context(), o); !apierrors.IsAlreadyExists(err) {
			g.Expect(err).NotTo(HaveOccurred(), refOf(o))
		}
	}
	rc, err := a.Resource(objs[1])
	g.Expect(err).NotTo(HaveOccurred())
	deployment, err := rc.Get(t.Context(), "web", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	replicaSet, err := manifests.Decode([]byte(`
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: shop
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: ` + string(deployment.GetUID()) + `, controller: true}]
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
`))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = a.Create(t.Context(), replicaSet[0])
	g.Expect(err).NotTo(HaveOccurred())
	dyn, err := dynamic.NewForConfig(lab.Host().RESTConfig())
	g.Expect(err).NotTo(HaveOccurred())
	get := func(g Gomega, kind, name string) *unstructured.Unstructured {
		gvr := typesv1beta1.GroupVersion.WithResource(strings.ToLower(kind) + "s")
		u, err := dyn.Resource(gvr).Namespace("shop").Get(t.Context(), name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred(), kind+" "+name)
		return u
	}
	everyCluster := map[string]any{"clusterSelector": map[string]any{"matchLabels": map[string]any{}}}

	t.Run("a Deployment; federating it again leaves it unchanged", func(t *testing.T) {
		g := NewWithT(t)
		out, errOut, err := onHost(t, "federate", "deployments.apps", "web", "-n", "shop")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(Equal("FederatedDeployment shop/web created from Deployment shop/web\n"))
		g.Expect(errOut).To(ContainSubstring("keeps the annotations of Deployment shop/web, which are not propagated"))
		fed := get(g, "FederatedDeployment", "web")
		g.Expect(fed.Object["spec"]).To(HaveKeyWithValue("placement", everyCluster))
		tmpl, _, _ := unstructured.NestedMap(fed.Object, "spec", "template")
		g.Expect(tmpl).To(HaveLen(2), "only metadata and spec: %v", tmpl)
		g.Expect(tmpl["metadata"]).To(Equal(map[string]any{
			"labels": map[string]any{"app": "web"}, "annotations": map[string]any{"team": "shop"},
		}))
		want, _, _ := unstructured.NestedMap(deployment.Object, "spec")
		unstructured.RemoveNestedField(want, "template", "metadata", "creationTimestamp")
		g.Expect(tmpl["spec"]).To(Equal(want), "the spec as the host defaulted it")

		out, _, err = onHost(t, "federate", "Deployment", "web", "-n", "shop")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(Equal("FederatedDeployment shop/web exists already: left unchanged\n"))
		g.Expect(get(g, "FederatedDeployment", "web").GetResourceVersion()).To(Equal(fed.GetResourceVersion()))
	})

	t.Run("-o yaml prints the namespace and its contents, and creates nothing", func(t *testing.T) {
		g := NewWithT(t)
		out, errOut, err := onHost(t, "federate", "ns", "shop", "--contents", "-o", "yaml")
		g.Expect(err).NotTo(HaveOccurred())
		docs, err := manifests.Decode([]byte(out))
		g.Expect(err).NotTo(HaveOccurred())
		var got []string
		for _, d := range docs {
			got = append(got, refOf(d))
		}
		g.Expect(got).To(Equal([]string{
			"FederatedNamespace shop/shop",
			"FederatedConfigMap shop/settings",
			"FederatedDeployment shop/web",
			"FederatedSecret shop/creds",
			"FederatedServiceAccount shop/builder",
			"FederatedService shop/web",
		}))
		g.Expect(docs[0].Object["spec"]).To(Equal(map[string]any{
			"template":  map[string]any{"metadata": map[string]any{"labels": map[string]any{"kubernetes.io/metadata.name": "shop", "team": "shop"}}},
			"placement": everyCluster,
		}))
		g.Expect(errOut).To(ContainSubstring("skipped ConfigMap shop/kube-root-ca.crt"))
		g.Expect(federatedIn(t, dyn, "FederatedNamespace", "shop")).To(BeEmpty())
		g.Expect(federatedIn(t, dyn, "FederatedConfigMap", "shop")).To(BeEmpty())
	})

	t.Run("--skip-api-resources leaves types out of the contents, by any of their names or their group", func(t *testing.T) {
		g := NewWithT(t)
		out, errOut, err := onHost(t, "federate", "ns", "shop", "--contents", "-o", "yaml", "--skip-api-resources", "cm,SECRET", "-s", "apps", "-s", "sa")
		g.Expect(err).NotTo(HaveOccurred())
		docs, err := manifests.Decode([]byte(out))
		g.Expect(err).NotTo(HaveOccurred())
		var got []string
		for _, d := range docs {
			got = append(got, refOf(d))
		}
		g.Expect(got).To(Equal([]string{"FederatedNamespace shop/shop", "FederatedService shop/web"}))
		g.Expect(errOut).To(ContainSubstring("skipped every ConfigMap: --skip-api-resources names cm\n"))
		g.Expect(errOut).To(ContainSubstring("skipped every Secret: --skip-api-resources names SECRET\n"))
		g.Expect(errOut).To(ContainSubstring("skipped every Deployment: --skip-api-resources names apps\n"))
		g.Expect(errOut).To(ContainSubstring("skipped every ServiceAccount: --skip-api-resources names sa\n"))
	})

	t.Run("a namespace with its contents, skipping what is managed or federated already", func(t *testing.T) {
		g := NewWithT(t)
		out, errOut, err := onHost(t, "federate", "namespaces", "shop", "--contents")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(Equal(`FederatedNamespace shop/shop created from Namespace shop
FederatedConfigMap shop/settings created from ConfigMap shop/settings
FederatedSecret shop/creds created from Secret shop/creds
FederatedServiceAccount shop/builder created from ServiceAccount shop/builder
FederatedService shop/web created from Service shop/web
`))
		g.Expect(errOut).To(And(
			ContainSubstring("skipped ConfigMap shop/kube-root-ca.crt: published by Kubernetes in every namespace"),
			ContainSubstring("skipped Deployment shop/web: federated already by FederatedDeployment shop/web"),
			ContainSubstring("skipped ReplicaSet shop/web-5d8f: managed by its owner Deployment web"),
			ContainSubstring("skipped Secret shop/builder-token: a service account token"),
			ContainSubstring("skipped ServiceAccount shop/default: created by Kubernetes in every namespace"),
		))
		for kind, want := range map[string][]string{
			"FederatedNamespace": {"shop"}, "FederatedConfigMap": {"settings"}, "FederatedSecret": {"creds"},
			"FederatedServiceAccount": {"builder"}, "FederatedService": {"web"}, "FederatedDeployment": {"web"},
			"FederatedReplicaSet": {},
		} {
			g.Expect(federatedIn(t, dyn, kind, "shop")).To(ConsistOf(want), kind)
		}
		svc, _, _ := unstructured.NestedMap(get(g, "FederatedService", "web").Object, "spec", "template", "spec")
		g.Expect(svc).NotTo(HaveKey("clusterIP"))
		g.Expect(svc).NotTo(HaveKey("clusterIPs"))
		g.Expect(svc["ports"]).To(ConsistOf(Not(HaveKey("nodePort"))))
		g.Expect(svc["type"]).To(Equal("NodePort"))
		data, _, _ := unstructured.NestedStringMap(get(g, "FederatedSecret", "creds").Object, "spec", "template", "data")
		g.Expect(data).To(HaveKey("password"))
	})

	t.Run("a type that is not enabled needs --enable-type", func(t *testing.T) {
		g := NewWithT(t)
		_, _, err := onHost(t, "federate", "podtemplates", "tpl", "-n", "shop")
		g.Expect(err).To(MatchError(ContainSubstring("podtemplates is not enabled: there is no FederatedTypeConfig kube-federation-system/podtemplates (run fedctl enable podtemplates, or pass --enable-type)")))
		out, _, err := onHost(t, "federate", "podtemplates", "tpl", "-n", "shop", "--enable-type")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(And(ContainSubstring("FederatedTypeConfig kube-federation-system/podtemplates applied"),
			HaveSuffix("FederatedPodTemplate shop/tpl created from PodTemplate shop/tpl\n")))
		image, _, _ := unstructured.NestedSlice(get(g, "FederatedPodTemplate", "tpl").Object, "spec", "template", "template", "spec", "containers")
		g.Expect(image).To(ConsistOf(HaveKeyWithValue("image", "busybox")))
	})

	t.Run("mistakes are named", func(t *testing.T) {
		g := NewWithT(t)
		_, _, err := onHost(t, "federate", "configmaps", "missing", "-n", "shop")
		g.Expect(err).To(MatchError("ConfigMap shop/missing not found in the host (TYPE configmaps, NAME missing)"))
		_, _, err = onHost(t, "federate", "configmaps", "settings", "-n", "shop", "--contents")
		g.Expect(err).To(MatchError("--contents goes with TYPE namespaces only, not configmaps"))
		_, _, err = onHost(t, "federate", "configmaps", "settings", "-n", "shop", "--enable-type", "-o", "yaml")
		g.Expect(err).To(MatchError("--enable-type writes to the host and cannot go with --output"))
	})
}

func TestFederateFileGolden(t *testing.T) {
	input, err := os.ReadFile(filepath.Join("testdata", "federate-file-input.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "federate-file.yaml")
	for _, args := range [][]string{
		{"federate", "-f", "-", "-n", "shop"},
		{"federate", "--filename", filepath.Join("testdata", "federate-file-input.yaml"), "-n", "shop", "-o", "yaml", "--host-cluster-context", "ignored"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			got, err := fedctlStdin(t, string(input), args...)
			if err != nil {
				t.Fatalf("fedctl %s: %v", strings.Join(args, " "), err)
			}
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/fedctl -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("fedctl federate -f output differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestFederateFileRefuses(t *testing.T) {
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{name: "TYPE NAME with --filename", args: []string{"federate", "configmaps", "a", "-f", "-"}, want: "--filename takes no TYPE NAME arguments"},
		{name: "--contents with --filename", args: []string{"federate", "-f", "-", "--contents"}, want: "does not go with --contents"},
		{name: "a federation type", stdin: "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedConfigMap\nmetadata: {name: a, namespace: x}\n",
			args: []string{"federate", "-f", "-"}, want: "standard input (document 1): FederatedConfigMap.types.kubefed.io belongs to the federation API"},
		{name: "no name", stdin: "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n", args: []string{"federate", "-f", "-"}, want: "standard input (document 1): ConfigMap has no metadata.name"},
		{name: "a namespaced default type without namespace or -n", stdin: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
			args: []string{"federate", "-f", "-"}, want: "standard input (document 1): ConfigMap a has no metadata.namespace: give one with -n"},
		{name: "a missing file", args: []string{"federate", "-f", "testdata/none.yaml"}, want: "testdata/none.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fedctlStdin(t, tc.stdin, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSkippedBy(t *testing.T) {
	deployments := metav1.APIResource{Group: "apps", Version: "v1", Name: "deployments", SingularName: "deployment", Kind: "Deployment", ShortNames: []string{"deploy"}}
	configMaps := metav1.APIResource{Version: "v1", Name: "configmaps", SingularName: "configmap", Kind: "ConfigMap", ShortNames: []string{"cm"}}
	cases := []struct {
		name string
		skip []string
		r    metav1.APIResource
		want string
	}{
		{name: "plural", skip: []string{"deployments"}, r: deployments, want: "deployments"},
		{name: "singular", skip: []string{"deployment"}, r: deployments, want: "deployment"},
		{name: "kind, in any case", skip: []string{"DEPLOYMENT"}, r: deployments, want: "DEPLOYMENT"},
		{name: "short name", skip: []string{"secrets", "deploy"}, r: deployments, want: "deploy"},
		{name: "plural.group", skip: []string{"deployments.apps"}, r: deployments, want: "deployments.apps"},
		{name: "the group leaves out all its types", skip: []string{"apps"}, r: deployments, want: "apps"},
		{name: "a core type by short name", skip: []string{"cm"}, r: configMaps, want: "cm"},
		{name: "another type's names", skip: []string{"replicasets", "rs", "batch", "deployments.example.com"}, r: deployments},
		{name: "an empty value names nothing, not the core group", skip: []string{""}, r: configMaps},
		{name: "nothing to skip", r: configMaps},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := skippedBy(tc.skip, tc.r)
			if ok != (tc.want != "") || got != tc.want {
				t.Errorf("skippedBy(%q, %s) = %q, %v; want %q", tc.skip, tc.r.Name, got, ok, tc.want)
			}
		})
	}
}
