package typegen

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/fedplane/fedplane/config"
)

func baseCRD(t *testing.T) *apiextv1.CustomResourceDefinition {
	t.Helper()
	data, err := config.Manifests.ReadFile(config.FederatedBaseCRD)
	if err != nil {
		t.Fatal(err)
	}
	base, err := ParseBaseCRD(data)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

func TestCRD(t *testing.T) {
	scalable := &apiextv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{
		"spec": {Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{"replicas": {Type: "integer"}}},
	}}
	plain := &apiextv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{
		"data": {Type: "object", AdditionalProperties: &apiextv1.JSONSchemaPropsOrBool{Allows: true, Schema: &apiextv1.JSONSchemaProps{Type: "string"}}},
	}}
	type summary struct {
		Name, Group, Version, Kind, Plural string
		ShortNames                         []string
		Scope                              apiextv1.ResourceScope
		SpecFields                         []string
		Columns                            []string
	}
	cases := []struct {
		name     string
		target   Target
		template *apiextv1.JSONSchemaProps
		want     summary
	}{
		{
			name:     "a namespaced scalable target gets retainReplicas",
			target:   Target{Group: "apps", Version: "v1", Kind: "Deployment", Plural: "deployments", Namespaced: true, ShortNames: []string{"fdeploy"}},
			template: scalable,
			want: summary{
				Name: "federateddeployments.types.kubefed.io", Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedDeployment", Plural: "federateddeployments",
				ShortNames: []string{"fdeploy"}, Scope: apiextv1.NamespaceScoped,
				SpecFields: []string{"overrides", "placement", "retainReplicas", "template"},
				Columns:    []string{"Desired", "Ready", "Stale", "Propagated", "Reason", "Age"},
			},
		},
		{
			name:     "a cluster-scoped target gives a cluster-scoped federated type",
			target:   Target{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Plural: "clusterroles"},
			template: plain,
			want: summary{
				Name: "federatedclusterroles.types.kubefed.io", Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedClusterRole", Plural: "federatedclusterroles",
				Scope:      apiextv1.ClusterScoped,
				SpecFields: []string{"overrides", "placement", "template"},
				Columns:    []string{"Propagated", "Reason", "Age"},
			},
		},
		{
			name:     "FederatedNamespace is namespaced although Namespace is not",
			target:   Target{Version: "v1", Kind: "Namespace", Plural: "namespaces", ShortNames: []string{"fns"}},
			template: plain,
			want: summary{
				Name: "federatednamespaces.types.kubefed.io", Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedNamespace", Plural: "federatednamespaces",
				ShortNames: []string{"fns"}, Scope: apiextv1.NamespaceScoped,
				SpecFields: []string{"overrides", "placement", "template"},
				Columns:    []string{"Propagated", "Reason", "Age"},
			},
		},
		{
			name: "a federated group and version of its own",
			target: Target{Group: "example.com", Version: "v1", Kind: "Deployment", Plural: "deployments", Namespaced: true,
				FederatedGroup: "federation.example.com", FederatedVersion: "v1"},
			template: plain,
			want: summary{
				Name: "federateddeployments.federation.example.com", Group: "federation.example.com", Version: "v1",
				Kind: "FederatedDeployment", Plural: "federateddeployments", Scope: apiextv1.NamespaceScoped,
				SpecFields: []string{"overrides", "placement", "template"},
				Columns:    []string{"Propagated", "Reason", "Age"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := baseCRD(t)
			crd := CRD(base, tc.target, tc.template)
			v := crd.Spec.Versions[0]
			spec := v.Schema.OpenAPIV3Schema.Properties["spec"]
			got := summary{
				Name: crd.Name, Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind, Plural: crd.Spec.Names.Plural,
				ShortNames: crd.Spec.Names.ShortNames, Scope: crd.Spec.Scope,
			}
			for f := range spec.Properties {
				got.SpecFields = append(got.SpecFields, f)
			}
			for _, c := range v.AdditionalPrinterColumns {
				got.Columns = append(got.Columns, c.Name)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("CRD() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.template.Properties, spec.Properties["template"].Properties); diff != "" {
				t.Errorf("template schema not set (-want +got):\n%s", diff)
			}
			if _, ok := base.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["retainReplicas"]; ok {
				t.Error("CRD() modified the base CRD")
			}
		})
	}
}

func TestTypeConfigNames(t *testing.T) {
	var got []string
	for _, target := range DefaultTargets() {
		ftc := target.TypeConfig("kube-federation-system")
		got = append(got, ftc.Name+" "+string(ftc.Spec.FederatedType.Scope))
	}
	want := []string{
		"clusterroles.rbac.authorization.k8s.io Cluster",
		"configmaps Namespaced",
		"deployments.apps Namespaced",
		"ingresses.networking.k8s.io Namespaced",
		"jobs.batch Namespaced",
		"namespaces Namespaced",
		"replicasets.apps Namespaced",
		"secrets Namespaced",
		"serviceaccounts Namespaced",
		"services Namespaced",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default FederatedTypeConfigs mismatch (-want +got):\n%s", diff)
	}
}

func TestTypeConfigFederatedGroupVersion(t *testing.T) {
	cases := []struct {
		name   string
		target Target
		want   [2]string
	}{
		{name: "the default federated group and version", target: Target{Version: "v1", Kind: "ConfigMap", Plural: "configmaps", Namespaced: true}, want: [2]string{"types.kubefed.io", "v1beta1"}},
		{name: "a group of its own", target: Target{Version: "v1", Kind: "ConfigMap", Plural: "configmaps", FederatedGroup: "fed.example.com"}, want: [2]string{"fed.example.com", "v1beta1"}},
		{name: "a version of its own", target: Target{Version: "v1", Kind: "ConfigMap", Plural: "configmaps", FederatedVersion: "v1"}, want: [2]string{"types.kubefed.io", "v1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ft := tc.target.TypeConfig("kube-federation-system").Spec.FederatedType
			if diff := cmp.Diff(tc.want, [2]string{ft.Group, ft.Version}); diff != "" {
				t.Errorf("federated type mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCRDKeepsTheClusterSelectorRules checks that every generated federated type, default or
// enabled by fedctl, carries the base frame's validation of placement.clusterSelector.
func TestCRDKeepsTheClusterSelectorRules(t *testing.T) {
	template := &apiextv1.JSONSchemaProps{Type: "object"}
	crd := CRD(baseCRD(t), Target{Version: "v1", Kind: "ResourceQuota", Plural: "resourcequotas", Namespaced: true}, template)
	selector := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["placement"].Properties["clusterSelector"]
	var got []string
	for _, rule := range selector.XValidations {
		got = append(got, rule.FieldPath+": "+rule.Message)
	}
	want := []string{
		".matchExpressions: operator must be In, NotIn, Exists or DoesNotExist",
		".matchExpressions: values must be non-empty when operator is In or NotIn",
		".matchExpressions: values must be empty when operator is Exists or DoesNotExist",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clusterSelector rules (-want +got):\n%s", diff)
	}
}
