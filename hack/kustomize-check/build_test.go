package kustomizecheck

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestDefaultBuilds builds config/default and checks that it holds the control plane: its
// namespace, the CRDs, fed-controller's Deployment, ServiceAccount and metrics Service, the
// KubeFedConfig and the default FederatedTypeConfigs, in kube-federation-system.
func TestDefaultBuilds(t *testing.T) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), "../../config/default")
	if err != nil {
		t.Fatalf("kustomize build config/default failed: %v", err)
	}
	kinds := map[string]int{}
	for _, r := range resMap.Resources() {
		kinds[r.GetKind()]++
		if r.GetKind() == "CustomResourceDefinition" || r.GetKind() == "Namespace" || r.GetKind() == "ClusterRole" || r.GetKind() == "ClusterRoleBinding" {
			continue
		}
		if ns := r.GetNamespace(); ns != "kube-federation-system" {
			t.Errorf("%s %s is in namespace %q, want kube-federation-system", r.GetKind(), r.GetName(), ns)
		}
	}
	want := map[string]int{"Namespace": 1, "Deployment": 1, "ServiceAccount": 1, "Service": 1, "KubeFedConfig": 1, "FederatedTypeConfig": 10}
	got := map[string]int{}
	for kind := range want {
		got[kind] = kinds[kind]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config/default's objects by kind (-want +got):\n%s", diff)
	}
	if kinds["CustomResourceDefinition"] < 16 {
		t.Errorf("config/default holds %d CRDs, want the 6 API kinds and the 10 default federated types", kinds["CustomResourceDefinition"])
	}
	for kind, n := range kinds {
		t.Logf("%s: %d", kind, n)
	}
}
