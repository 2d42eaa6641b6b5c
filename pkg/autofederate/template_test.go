package autofederate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
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

// typeConfig is the FederatedTypeConfig of a v1 target type with the default federated type.
func typeConfig(group, kind, plural string, namespaced bool) *corev1beta1.FederatedTypeConfig {
	scope := corev1beta1.ClusterScoped
	if namespaced {
		scope = corev1beta1.NamespaceScoped
	}
	fedScope := scope
	if kind == "Namespace" {
		fedScope = corev1beta1.NamespaceScoped // A FederatedNamespace is in the namespace it federates.
	}
	return &corev1beta1.FederatedTypeConfig{Spec: corev1beta1.FederatedTypeConfigSpec{
		TargetType:    corev1beta1.APIResource{Group: group, Version: "v1", Kind: kind, PluralName: plural, Scope: scope},
		FederatedType: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "Federated" + kind, PluralName: "federated" + plural, Scope: fedScope},
	}}
}

func TestTemplate(t *testing.T) {
	cases := []struct {
		name   string
		target *corev1beta1.FederatedTypeConfig
		in     string
		want   string
	}{
		{
			name:   "server-set metadata, status and tool annotations go; labels and other annotations stay",
			target: typeConfig("apps", "Deployment", "deployments", true),
			in: `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  uid: 0b5c
  resourceVersion: "42"
  generation: 3
  creationTimestamp: "2026-01-01T00:00:00Z"
  deletionTimestamp: "2026-01-02T00:00:00Z"
  deletionGracePeriodSeconds: 30
  selfLink: /apis/apps/v1/namespaces/shop/deployments/web
  finalizers: [example.com/keep]
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: 1}]
  managedFields: [{manager: kubectl}]
  labels: {app: web}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: "{}"
    deployment.kubernetes.io/revision: "3"
    team: shop
spec:
  replicas: 2
  template:
    metadata:
      creationTimestamp: null
      labels: {app: web}
    spec:
      containers: [{name: web, image: nginx}]
status:
  replicas: 2
`,
			want: `
metadata:
  labels: {app: web}
  annotations: {team: shop}
spec:
  replicas: 2
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: nginx}]
`,
		},
		{
			name:   "only tool annotations: no annotations left",
			target: typeConfig("", "ConfigMap", "configmaps", true),
			in: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}
data: {color: blue}
`,
			want: `
data: {color: blue}
`,
		},
		{
			name:   "the auto-federation label and annotations are about the host object: they go",
			target: typeConfig("", "ConfigMap", "configmaps", true),
			in: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {fedplane.io/federate: "true", app: shop}
  annotations: {fedplane.io/placement: '{"clusters": ["a"]}', fedplane.io/orphan-on-unfederate: "true"}
data: {color: blue}
`,
			want: `
metadata:
  labels: {app: shop}
data: {color: blue}
`,
		},
		{
			name:   "a label map left empty goes",
			target: typeConfig("", "ConfigMap", "configmaps", true),
			in:     `{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, labels: {fedplane.io/federate: "true"}}, data: {a: b}}`,
			want:   `{data: {a: b}}`,
		},
		{
			name:   "a Service loses its cluster IPs and node ports",
			target: typeConfig("", "Service", "services", true),
			in: `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  clusterIP: 10.0.0.12
  clusterIPs: [10.0.0.12]
  healthCheckNodePort: 31000
  externalTrafficPolicy: Local
  ports: [{port: 80, targetPort: 8080, nodePort: 30080, protocol: TCP}]
  selector: {app: web}
`,
			want: `
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ports: [{port: 80, targetPort: 8080, protocol: TCP}]
  selector: {app: web}
`,
		},
		{
			name:   "a headless Service keeps clusterIP None",
			target: typeConfig("", "Service", "services", true),
			in: `
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None, clusterIPs: [None], ports: [{port: 5432}]}
`,
			want: `
spec: {clusterIP: None, clusterIPs: [None], ports: [{port: 5432}]}
`,
		},
		{
			name:   "a ServiceAccount loses its secrets",
			target: typeConfig("", "ServiceAccount", "serviceaccounts", true),
			in: `
apiVersion: v1
kind: ServiceAccount
metadata: {name: builder, namespace: shop, labels: {team: ci}}
secrets: [{name: builder-token-x7k2p}]
imagePullSecrets: [{name: registry}]
`,
			want: `
metadata: {labels: {team: ci}}
imagePullSecrets: [{name: registry}]
`,
		},
		{
			name:   "a Namespace loses its spec.finalizers",
			target: typeConfig("", "Namespace", "namespaces", false),
			in: `
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop, team: shop}}
spec: {finalizers: [kubernetes]}
status: {phase: Active}
`,
			want: `
metadata: {labels: {kubernetes.io/metadata.name: shop, team: shop}}
`,
		},
		{
			name:   "a Job loses its generated selector and labels",
			target: typeConfig("batch", "Job", "jobs", true),
			in: `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop}
spec:
  selector: {matchLabels: {batch.kubernetes.io/controller-uid: 5e1f}}
  template:
    metadata:
      labels: {app: migrate, batch.kubernetes.io/controller-uid: 5e1f, batch.kubernetes.io/job-name: migrate, controller-uid: 5e1f, job-name: migrate}
    spec: {restartPolicy: Never, containers: [{name: migrate, image: migrate}]}
`,
			want: `
spec:
  template:
    metadata:
      labels: {app: migrate}
    spec: {restartPolicy: Never, containers: [{name: migrate, image: migrate}]}
`,
		},
		{
			name:   "a Job with manualSelector keeps its selector",
			target: typeConfig("batch", "Job", "jobs", true),
			in: `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop}
spec:
  manualSelector: true
  selector: {matchLabels: {app: migrate}}
  template:
    metadata: {labels: {app: migrate}}
    spec: {restartPolicy: Never, containers: [{name: migrate, image: migrate}]}
`,
			want: `
spec:
  manualSelector: true
  selector: {matchLabels: {app: migrate}}
  template:
    metadata: {labels: {app: migrate}}
    spec: {restartPolicy: Never, containers: [{name: migrate, image: migrate}]}
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := obj(t, tc.in)
			before := in.DeepCopy()
			got, err := Template(tc.target.Spec.TargetType, in)
			if err != nil {
				t.Fatalf("templateOf: %v", err)
			}
			if diff := cmp.Diff(obj(t, tc.want).Object, got); diff != "" {
				t.Errorf("Template() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, in); diff != "" {
				t.Errorf("Template() changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestFederatedObject(t *testing.T) {
	everyCluster := map[string]any{"clusterSelector": map[string]any{"matchLabels": map[string]any{}}}
	cases := []struct {
		name   string
		target *corev1beta1.FederatedTypeConfig
		in     string
		want   string
	}{
		{
			name:   "a namespaced object keeps its name and namespace",
			target: typeConfig("", "ConfigMap", "configmaps", true),
			in:     `{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: shop}, data: {a: b}}`,
			want:   `{apiVersion: types.kubefed.io/v1beta1, kind: FederatedConfigMap, metadata: {name: settings, namespace: shop}}`,
		},
		{
			name:   "a FederatedNamespace goes in the namespace it federates",
			target: typeConfig("", "Namespace", "namespaces", false),
			in:     `{apiVersion: v1, kind: Namespace, metadata: {name: shop}}`,
			want:   `{apiVersion: types.kubefed.io/v1beta1, kind: FederatedNamespace, metadata: {name: shop, namespace: shop}}`,
		},
		{
			name:   "a cluster-scoped object gives a cluster-scoped federated object",
			target: typeConfig("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", false),
			in:     `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: reader}, rules: []}`,
			want:   `{apiVersion: types.kubefed.io/v1beta1, kind: FederatedClusterRole, metadata: {name: reader}}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := obj(t, tc.in)
			got, err := FederatedObject(tc.target, in)
			if err != nil {
				t.Fatalf("federatedObject: %v", err)
			}
			tmpl, _ := Template(tc.target.Spec.TargetType, in)
			want := obj(t, tc.want)
			want.Object["spec"] = map[string]any{"template": tmpl, "placement": everyCluster}
			if diff := cmp.Diff(want.Object, got.Object); diff != "" {
				t.Errorf("FederatedObject() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
