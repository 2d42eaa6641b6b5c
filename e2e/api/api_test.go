package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/config"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/internal/testfixtures"
	"github.com/fedplane/fedplane/pkg/federate/typegen"
	"github.com/fedplane/fedplane/pkg/manifests"
)

var lab *framework.Lab

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithLab(m, framework.Options{}, &lab))
}

var (
	installOnce sync.Once
	installErr  error
)

// host returns a client set of the host with fedplane's API installed, and the namespaces the
// fixtures use.
func host(t *testing.T) (*kubernetes.Clientset, *framework.Applier) {
	t.Helper()
	framework.Require(t, lab)
	cfg := lab.Host().RESTConfig()
	installOnce.Do(func() { installErr = framework.Install(t.Context(), cfg) })
	if installErr != nil {
		t.Fatalf("failed to install the CRDs: %v", installErr)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	applier, err := framework.NewApplier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs, applier
}

func ensureNamespace(t *testing.T, cs *kubernetes.Clientset, name string) {
	t.Helper()
	_, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func readManifests(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifests.Decode(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return objs
}

func TestInvalidFixturesAreRefusedNamingTheField(t *testing.T) {
	cs, applier := host(t)
	ensureNamespace(t, cs, "test-namespace")
	files, err := filepath.Glob(testfixtures.Path(t, "invalid", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid fixtures found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			field, ok := testfixtures.InvalidFields()[filepath.Base(f)]
			if !ok {
				t.Fatalf("no expected field for %s: add it to testfixtures.InvalidFields", f)
			}
			for _, obj := range readManifests(t, f) {
				// kubectl apply creates new objects with a POST; the CRD schema and CEL rules refuse it.
				_, err := applier.Create(t.Context(), obj.DeepCopy())
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), field) {
					t.Errorf("create of %s %s: got error %v, want Invalid naming %s", obj.GetKind(), obj.GetName(), err, field)
				}
				// Server-side apply refuses it too. The API server catches duplicate list-map keys
				// while it builds the patch (and answers 500, not 422), naming the list.
				_, err = applier.Apply(t.Context(), obj.DeepCopy(), "fixtures-test")
				if err == nil || !strings.Contains(err.Error(), listField(field)) {
					t.Errorf("server-side apply of %s %s: got error %v, want it refused naming %s", obj.GetKind(), obj.GetName(), err, listField(field))
				}
				r, err := applier.Resource(obj)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := r.Get(t.Context(), obj.GetName(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					t.Errorf("%s %s exists after being refused (get: %v)", obj.GetKind(), obj.GetName(), err)
				}
			}
		})
	}
}

// listField strips a trailing list index: spec.overrides[1] -> spec.overrides.
func listField(field string) string {
	if i := strings.LastIndexByte(field, '['); i > 0 && strings.HasSuffix(field, "]") && strings.Trim(field[i+1:len(field)-1], "0123456789") == "" {
		return field[:i]
	}
	return field
}

func TestSeedManifestsAreAcceptedUnchanged(t *testing.T) {
	_, applier := host(t)
	files, err := filepath.Glob(testfixtures.Path(t, "seed", "manifests", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed manifests found: %v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		for _, obj := range readManifests(t, f) {
			want := obj.DeepCopy()
			created, err := applier.Create(t.Context(), obj)
			if apierrors.IsAlreadyExists(err) {
				r, rerr := applier.Resource(obj)
				if rerr != nil {
					t.Fatal(rerr)
				}
				created, err = r.Get(t.Context(), obj.GetName(), metav1.GetOptions{})
			}
			if err != nil {
				t.Errorf("%s: %s %s refused: %v", filepath.Base(f), obj.GetKind(), obj.GetName(), err)
				continue
			}
			// Nothing the user wrote is pruned or defaulted away.
			if _, hasSpec := want.Object["spec"]; !hasSpec {
				continue
			}
			if diff := cmp.Diff(want.Object["spec"], created.Object["spec"]); diff != "" {
				t.Errorf("%s: %s %s stored spec differs from the manifest (-want +got):\n%s", filepath.Base(f), obj.GetKind(), obj.GetName(), diff)
			}
		}
	}
}

func TestTemplateWithAWrongFieldTypeIsRefused(t *testing.T) {
	cs, applier := host(t)
	ensureNamespace(t, cs, "test-namespace")
	obj := &unstructured.Unstructured{}
	if err := json.Unmarshal([]byte(`{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedDeployment",
		"metadata": {"name": "wrong-type", "namespace": "test-namespace"},
		"spec": {"template": {"spec": {"replicas": "three", "selector": {"matchLabels": {"app": "x"}},
			"template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "x", "image": "x"}]}}}}}}`), &obj.Object); err != nil {
		t.Fatal(err)
	}
	_, err := applier.Create(t.Context(), obj)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.template.spec.replicas") {
		t.Fatalf("got %v, want Invalid naming spec.template.spec.replicas", err)
	}

	unknown := obj.DeepCopy()
	_ = unstructured.SetNestedField(unknown.Object, int64(2), "spec", "template", "spec", "replicas")
	_ = unstructured.SetNestedField(unknown.Object, int64(2), "spec", "template", "spec", "replicaz")
	_, err = applier.Create(t.Context(), unknown)
	if err == nil || !strings.Contains(err.Error(), "replicaz") {
		t.Fatalf("got %v, want an error naming the unknown field replicaz", err)
	}
}

// TestFederatedCRDsMatchTheLiveAPI regenerates the default federated types' CRDs from the lab
// API server's OpenAPI v3 schemas and compares them with the committed ones, so that the
// committed snapshot (config/openapi) stays true to the real API.
func TestFederatedCRDsMatchTheLiveAPI(t *testing.T) {
	framework.Require(t, lab)
	dc, err := discovery.NewDiscoveryClientForConfig(lab.Host().RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	paths, err := dc.OpenAPIV3().Paths()
	if err != nil {
		t.Fatal(err)
	}
	baseData, err := config.Manifests.ReadFile(config.FederatedBaseCRD)
	if err != nil {
		t.Fatal(err)
	}
	base, err := typegen.ParseBaseCRD(baseData)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range typegen.DefaultTargets() {
		gv, ok := paths[target.OpenAPIPath()]
		if !ok {
			t.Fatalf("the API server publishes no %s", target.OpenAPIPath())
		}
		raw, err := gv.Schema("application/json")
		if err != nil {
			t.Fatal(err)
		}
		var doc typegen.Document
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		tmpl, err := typegen.TemplateSchema(doc, target)
		if err != nil {
			t.Fatalf("%s: %v", target.Kind, err)
		}
		got, err := typegen.MarshalYAML(typegen.CRD(base, target, tmpl))
		if err != nil {
			t.Fatal(err)
		}
		want, err := config.Manifests.ReadFile("crd/federated/" + target.FederatedPlural() + ".types.kubefed.io.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(strings.TrimPrefix(string(want), "---\n"), string(got)); diff != "" {
			t.Errorf("%s CRD generated from the live API differs from the committed one; run `make openapi-snapshot manifests` (-committed +live):\n%s", target.FederatedKind(), diff)
		}
	}
}

func TestPrinterColumns(t *testing.T) {
	_, _ = host(t)
	cfg := lab.Host().RESTConfig()
	cases := []struct {
		resource string
		want     []string
	}{
		{"apis/core.kubefed.io/v1beta1/namespaces/" + corev1beta1.DefaultNamespace + "/kubefedclusters", []string{"Name", "Age", "Ready", "Kubernetes-Version", "Region", "Endpoint", "Reason"}},
		{"apis/scheduling.kubefed.io/v1alpha1/replicaschedulingpreferences", []string{"Name", "Target", "Total", "Scheduled", "Ready", "Clusters", "Planned", "Age"}},
		{"apis/types.kubefed.io/v1beta1/federateddeployments", []string{"Name", "Desired", "Ready", "Stale", "Propagated", "Reason", "Age"}},
		{"apis/core.kubefed.io/v1beta1/federatedtypeconfigs", []string{"Name", "Target", "Federated", "Propagation", "Controller", "Reason", "Age"}},
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.resource, func(t *testing.T) {
			raw, err := cs.RESTClient().Get().AbsPath(tc.resource).
				SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var table metav1.Table
			if err := json.Unmarshal(raw, &table); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range table.ColumnDefinitions {
				got = append(got, c.Name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("columns (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFederatedTypeConfigNameMustFollowTheTarget(t *testing.T) {
	cs, applier := host(t)
	ensureNamespace(t, cs, corev1beta1.DefaultNamespace)
	ftc := func(name string) *unstructured.Unstructured {
		obj := &unstructured.Unstructured{}
		if err := json.Unmarshal([]byte(`{
			"apiVersion": "core.kubefed.io/v1beta1", "kind": "FederatedTypeConfig",
			"metadata": {"name": "`+name+`", "namespace": "kube-federation-system"},
			"spec": {"propagation": "Enabled",
				"targetType": {"group": "example.io", "version": "v1", "kind": "Widget", "pluralName": "widgets", "scope": "Namespaced"},
				"federatedType": {"group": "types.kubefed.io", "version": "v1beta1", "kind": "FederatedWidget", "pluralName": "federatedwidgets", "scope": "Namespaced"}}}`), &obj.Object); err != nil {
			t.Fatal(err)
		}
		return obj
	}
	if _, err := applier.Create(t.Context(), ftc("widgets")); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "pluralName") {
		t.Errorf("name without the group: got %v, want Invalid explaining the name", err)
	}
	if _, err := applier.Create(t.Context(), ftc("widgets.example.io")); err != nil {
		t.Errorf("name with the group: got %v, want it accepted", err)
	}
}
