package framework

import "testing"

func TestNamedObjectPath(t *testing.T) {
	for path, want := range map[string]bool{
		"/api/v1/namespaces/ns/configmaps/web":              true,
		"/api/v1/namespaces/ns/configmaps":                  false,
		"/api/v1/namespaces/ns":                             true,
		"/api/v1/namespaces":                                false,
		"/api/v1/nodes/n1":                                  true,
		"/api/v1/namespaces/ns/pods/p/status":               false,
		"/apis/apps/v1/namespaces/ns/deployments/web":       true,
		"/apis/apps/v1/namespaces/ns/deployments":           false,
		"/apis/apps/v1/deployments":                         false,
		"/apis/rbac.authorization.k8s.io/v1/clusterroles/x": true,
		"/apis/apps/v1":                                     false,
		"/apis":                                             false,
		"/readyz":                                           false,
	} {
		if got := namedObjectPath(path); got != want {
			t.Errorf("namedObjectPath(%q) = %v, want %v", path, got, want)
		}
	}
}
