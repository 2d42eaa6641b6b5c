package main

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

// typeConfig is the FederatedTypeConfig of a target type with the default federated type.
func typeConfig(group, version, kind, plural string, namespaced bool) *corev1beta1.FederatedTypeConfig {
	r := apiResource(plural, "", kind, namespaced)
	r.Group, r.Version = group, version
	return targetFor(r, "", "").TypeConfig("kube-federation-system")
}

func TestTemplateOf(t *testing.T) {
	cases := []struct {
		name   string
		target *corev1beta1.FederatedTypeConfig
		in     string
		want   string
	}{
		{
			name:   "server-set metadata, status and tool annotations go; labels and other annotations stay",
			target: typeConfig("apps", "v1", "Deployment", "deployments", true),
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
			target: typeConfig("", "v1", "ConfigMap", "configmaps", true),
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
			name:   "a Service loses its cluster IPs and node ports",
			target: typeConfig("", "v1", "Service", "services", true),
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
			target: typeConfig("", "v1", "Service", "services", true),
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
			target: typeConfig("", "v1", "ServiceAccount", "serviceaccounts", true),
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
			target: typeConfig("", "v1", "Namespace", "namespaces", false),
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
			target: typeConfig("batch", "v1", "Job", "jobs", true),
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
			target: typeConfig("batch", "v1", "Job", "jobs", true),
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
			got, err := templateOf(tc.target.Spec.TargetType, in)
			if err != nil {
				t.Fatalf("templateOf: %v", err)
			}
			if diff := cmp.Diff(obj(t, tc.want).Object, got); diff != "" {
				t.Errorf("templateOf() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, in); diff != "" {
				t.Errorf("templateOf() changed its input (-before +after):\n%s", diff)
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
			target: typeConfig("", "v1", "ConfigMap", "configmaps", true),
			in:     `{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: shop}, data: {a: b}}`,
			want:   `{apiVersion: types.kubefed.io/v1beta1, kind: FederatedConfigMap, metadata: {name: settings, namespace: shop}}`,
		},
		{
			name:   "a FederatedNamespace goes in the namespace it federates",
			target: typeConfig("", "v1", "Namespace", "namespaces", false),
			in:     `{apiVersion: v1, kind: Namespace, metadata: {name: shop}}`,
			want:   `{apiVersion: types.kubefed.io/v1beta1, kind: FederatedNamespace, metadata: {name: shop, namespace: shop}}`,
		},
		{
			name:   "a cluster-scoped object gives a cluster-scoped federated object",
			target: typeConfig("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false),
			in:     `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: reader}, rules: []}`,
			want:   `{apiVersion: types.kubefed.io/v1beta1, kind: FederatedClusterRole, metadata: {name: reader}}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := obj(t, tc.in)
			got, err := federatedObject(tc.target, in)
			if err != nil {
				t.Fatalf("federatedObject: %v", err)
			}
			tmpl, _ := templateOf(tc.target.Spec.TargetType, in)
			want := obj(t, tc.want)
			want.Object["spec"] = map[string]any{"template": tmpl, "placement": everyCluster}
			if diff := cmp.Diff(want.Object, got.Object); diff != "" {
				t.Errorf("federatedObject() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSkipReason(t *testing.T) {
	cases := []struct {
		name   string
		target *corev1beta1.FederatedTypeConfig
		in     string
		want   string
	}{
		{name: "a plain object is federated", target: typeConfig("", "v1", "ConfigMap", "configmaps", true),
			in: `{kind: ConfigMap, metadata: {name: settings}}`, want: ""},
		{name: "the root CA ConfigMap", target: typeConfig("", "v1", "ConfigMap", "configmaps", true),
			in: `{kind: ConfigMap, metadata: {name: kube-root-ca.crt}}`, want: "published by Kubernetes in every namespace"},
		{name: "the default ServiceAccount", target: typeConfig("", "v1", "ServiceAccount", "serviceaccounts", true),
			in: `{kind: ServiceAccount, metadata: {name: default}}`, want: "created by Kubernetes in every namespace"},
		{name: "another ServiceAccount is federated", target: typeConfig("", "v1", "ServiceAccount", "serviceaccounts", true),
			in: `{kind: ServiceAccount, metadata: {name: builder}}`, want: ""},
		{name: "a service account token", target: typeConfig("", "v1", "Secret", "secrets", true),
			in: `{kind: Secret, type: kubernetes.io/service-account-token, metadata: {name: builder-token}}`, want: "a service account token, filled in by Kubernetes"},
		{name: "an opaque Secret is federated", target: typeConfig("", "v1", "Secret", "secrets", true),
			in: `{kind: Secret, type: Opaque, metadata: {name: creds}}`, want: ""},
		{name: "an object with a controller", target: typeConfig("apps", "v1", "ReplicaSet", "replicasets", true),
			in:   `{kind: ReplicaSet, metadata: {name: web-5d8f, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: 1, controller: true}]}}`,
			want: "managed by its owner Deployment web"},
		{name: "an owner that is no controller does not count", target: typeConfig("", "v1", "ConfigMap", "configmaps", true),
			in: `{kind: ConfigMap, metadata: {name: settings, ownerReferences: [{apiVersion: v1, kind: Secret, name: creds, uid: 1}]}}`, want: ""},
		{name: "an object propagated by a control plane", target: typeConfig("", "v1", "ConfigMap", "configmaps", true),
			in: `{kind: ConfigMap, metadata: {name: settings, labels: {kubefed.io/managed: "true"}}}`, want: "propagated by a control plane (kubefed.io/managed=true)"},
		{name: "an object being deleted", target: typeConfig("", "v1", "ConfigMap", "configmaps", true),
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
