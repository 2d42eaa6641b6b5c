package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/restmapper"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// discovered builds what discovery returns for one group version.
func discovered(group, version string, resources ...metav1.APIResource) *restmapper.APIGroupResources {
	gv := metav1.GroupVersionForDiscovery{GroupVersion: version, Version: version}
	if group != "" {
		gv.GroupVersion = group + "/" + version
	}
	return &restmapper.APIGroupResources{
		Group:              metav1.APIGroup{Name: group, Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv},
		VersionedResources: map[string][]metav1.APIResource{version: resources},
	}
}

func apiResource(name, singular, kind string, namespaced bool, shortNames ...string) metav1.APIResource {
	return metav1.APIResource{Name: name, SingularName: singular, Kind: kind, Namespaced: namespaced, ShortNames: shortNames, Verbs: requiredVerbs}
}

// testGroups are a small host: the core group, apps, and two custom groups, one of which also
// has "deployments".
func testGroups() []*restmapper.APIGroupResources {
	return []*restmapper.APIGroupResources{
		discovered("", "v1",
			apiResource("configmaps", "configmap", "ConfigMap", true, "cm"),
			apiResource("namespaces", "namespace", "Namespace", false, "ns"),
			apiResource("limitranges", "limitrange", "LimitRange", true, "limits"),
			metav1.APIResource{Name: "pods/status", Kind: "Pod", Namespaced: true},
		),
		discovered("apps", "v1", apiResource("deployments", "deployment", "Deployment", true, "deploy")),
		discovered("example.com", "v1alpha1", apiResource("widgets", "widget", "Widget", true)),
		discovered("example.org", "v1", apiResource("deployments", "deployment", "Deployment", true),
			apiResource("gizmoes", "gizmo", "GizmoThing", false)),
		discovered("example.net", "v1", apiResource("widgets", "widget", "Widget", true)),
	}
}

func TestResolveType(t *testing.T) {
	type want struct{ Group, Version, Kind, Plural string }
	cases := []struct {
		name    string
		arg     string
		want    want
		wantErr string
	}{
		{name: "a core plural", arg: "configmaps", want: want{"", "v1", "ConfigMap", "configmaps"}},
		{name: "a core kind", arg: "ConfigMap", want: want{"", "v1", "ConfigMap", "configmaps"}},
		{name: "a short name", arg: "cm", want: want{"", "v1", "ConfigMap", "configmaps"}},
		{name: "a cluster-scoped core type", arg: "namespaces", want: want{"", "v1", "Namespace", "namespaces"}},
		{name: "a plural and group", arg: "deployments.apps", want: want{"apps", "v1", "Deployment", "deployments"}},
		{name: "a fully qualified resource", arg: "deployments.v1.apps", want: want{"apps", "v1", "Deployment", "deployments"}},
		{name: "a short name and group", arg: "deploy.apps", want: want{"apps", "v1", "Deployment", "deployments"}},
		{name: "a plural in two groups is the first group's", arg: "deployments", want: want{"apps", "v1", "Deployment", "deployments"}},
		{name: "the other group's, by plural and group", arg: "deployments.example.org", want: want{"example.org", "v1", "Deployment", "deployments"}},
		{name: "a custom resource by plural and group", arg: "widgets.example.com", want: want{"example.com", "v1alpha1", "Widget", "widgets"}},
		{name: "a custom resource by kind and group, in any case", arg: "WIDGET.example.net", want: want{"example.net", "v1", "Widget", "widgets"}},
		{name: "a plural that two custom groups serve is ambiguous", arg: "widgets",
			wantErr: `TYPE "widgets" names several types (widgets.example.com, widgets.example.net): name one as plural.group`},
		{name: "a kind that is not the singular", arg: "GizmoThing", want: want{"example.org", "v1", "GizmoThing", "gizmoes"}},
		{name: "an unknown type is named", arg: "sprockets", wantErr: `the host has no API type named "sprockets"`},
		{name: "an unknown group is named", arg: "widgets.example.io", wantErr: `the host has no API type named "widgets.example.io"`},
		{name: "a subresource is refused", arg: "pods/status", wantErr: `invalid TYPE "pods/status"`},
		{name: "an empty TYPE is refused", arg: " ", wantErr: `invalid TYPE " "`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := resolveType(testGroups(), tc.arg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("resolveType(%q) error = %v, want one containing %q", tc.arg, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveType(%q): %v", tc.arg, err)
			}
			if diff := cmp.Diff(tc.want, want{r.Group, r.Version, r.Kind, r.Name}); diff != "" {
				t.Errorf("resolveType(%q) mismatch (-want +got):\n%s", tc.arg, diff)
			}
		})
	}
}

func TestTargetFor(t *testing.T) {
	r := apiResource("limitranges", "limitrange", "LimitRange", true, "limits")
	r.Version = "v1"
	got := targetFor(r, "federation.example.com", "v1").TypeConfig("fed-system")
	want := corev1beta1.FederatedTypeConfigSpec{
		TargetType:  corev1beta1.APIResource{Version: "v1", Kind: "LimitRange", PluralName: "limitranges", Scope: corev1beta1.NamespaceScoped},
		Propagation: corev1beta1.PropagationEnabled,
		FederatedType: corev1beta1.APIResource{Group: "federation.example.com", Version: "v1", Kind: "FederatedLimitRange",
			PluralName: "federatedlimitranges", Scope: corev1beta1.NamespaceScoped},
	}
	if diff := cmp.Diff(want, got.Spec); diff != "" {
		t.Errorf("FederatedTypeConfig spec mismatch (-want +got):\n%s", diff)
	}
	if got.Name != "limitranges" || got.Namespace != "fed-system" {
		t.Errorf("FederatedTypeConfig is %s/%s, want fed-system/limitranges", got.Namespace, got.Name)
	}
	if diff := cmp.Diff([]string{"flimits"}, targetFor(r, "", "").ShortNames); diff != "" {
		t.Errorf("federated short names mismatch (-want +got):\n%s", diff)
	}
}

func TestTypeConfigOf(t *testing.T) {
	ftc := func(name, targetGroup, targetPlural, fedGroup string) corev1beta1.FederatedTypeConfig {
		c := corev1beta1.FederatedTypeConfig{}
		c.Name = name
		c.Spec.TargetType = corev1beta1.APIResource{Group: targetGroup, PluralName: targetPlural}
		c.Spec.FederatedType = corev1beta1.APIResource{Group: fedGroup, PluralName: "federated" + targetPlural}
		return c
	}
	ftcs := []corev1beta1.FederatedTypeConfig{
		ftc("deployments.apps", "apps", "deployments", "types.kubefed.io"),
		ftc("configmaps", "", "configmaps", "types.kubefed.io"),
		ftc("deployments.example.org", "example.org", "deployments", "federation.example.org"),
	}
	cases := []struct {
		name     string
		resource metav1.APIResource
		want     string
	}{
		{name: "a federated type", resource: metav1.APIResource{Group: "types.kubefed.io", Name: "federateddeployments"}, want: "deployments.apps"},
		{name: "a target type", resource: metav1.APIResource{Group: "apps", Name: "deployments"}, want: "deployments.apps"},
		{name: "a core target type", resource: metav1.APIResource{Name: "configmaps"}, want: "configmaps"},
		{name: "a federated type in a group of its own", resource: metav1.APIResource{Group: "federation.example.org", Name: "federateddeployments"}, want: "deployments.example.org"},
		{name: "a type that is neither", resource: metav1.APIResource{Name: "nodes"}, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if c, ok := typeConfigOf(ftcs, tc.resource); ok {
				got = c.Name
			}
			if got != tc.want {
				t.Errorf("typeConfigOf(%s.%s) = %q, want %q", tc.resource.Name, tc.resource.Group, got, tc.want)
			}
		})
	}
}

func TestEnableRefusesWhatCannotBeFederated(t *testing.T) {
	f := enableFlags{federatedGroup: defaultFederatedGroup, federatedVersion: defaultFederatedVersion}
	cases := []struct {
		name     string
		resource metav1.APIResource
		wantErr  string
	}{
		{name: "a federated type", resource: metav1.APIResource{Group: "types.kubefed.io", Name: "federateddeployments", Verbs: requiredVerbs}, wantErr: "federateddeployments.types.kubefed.io belongs to the federation API"},
		{name: "a FederatedTypeConfig", resource: metav1.APIResource{Group: "core.kubefed.io", Name: "federatedtypeconfigs", Verbs: requiredVerbs}, wantErr: "federatedtypeconfigs.core.kubefed.io belongs to the federation API"},
		{name: "a type without the verbs", resource: metav1.APIResource{Group: "authentication.k8s.io", Name: "tokenreviews", Verbs: []string{"create"}}, wantErr: "tokenreviews.authentication.k8s.io cannot be federated: it does not support get, list, watch, patch, delete"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.target(tc.resource); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("target() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	flags := []struct {
		name    string
		flags   enableFlags
		wantErr string
	}{
		{name: "a group without a dot", flags: enableFlags{federatedGroup: "federation", federatedVersion: "v1"}, wantErr: `invalid --federated-group "federation"`},
		{name: "the FederatedTypeConfigs' group", flags: enableFlags{federatedGroup: "core.kubefed.io", federatedVersion: "v1"}, wantErr: `invalid --federated-group "core.kubefed.io"`},
		{name: "a version that is no DNS label", flags: enableFlags{federatedGroup: "types.kubefed.io", federatedVersion: "V1"}, wantErr: `invalid --federated-version "V1"`},
	}
	for _, tc := range flags {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.flags.validate(); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("validate() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
