package rbac_test

import (
	"context"
	"strings"
	"testing"

	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/federate"
)

// TestAutoFederationWithoutItsRBACIsReported runs fed-controller with --auto-federate=configmaps
// under the chart's identity rendered without autoFederate.types, as a user who adds the flag
// through controller.extraArgs and forgets the value: the identity may not list ConfigMaps. The
// failure must reach an event on the FederatedTypeConfig, naming the denial, and propagation must
// go on.
func TestAutoFederationWithoutItsRBACIsReported(t *testing.T) {
	framework.Require(t, lab)
	t.Setenv(framework.EnvControllerIdentity, "chart")
	// The framework renders the chart with the last --auto-federate; an empty one renders none.
	fed := framework.StartFederationWithFlags(t, lab, controllerBinary, "rbac-auto", []string{"local"},
		[]string{"--auto-federate=configmaps", "--auto-federate=", "--type-cache-sync-timeout=2s"})
	// The next test of the package registers local again, and waits for it to be Ready.
	t.Cleanup(func() { _ = framework.Unregister(context.Background(), fed.Host, "local") })
	waitFor(t, "an AutoFederationFailed event on the FederatedTypeConfig configmaps", func(ctx context.Context) (bool, error) {
		list := &eventsv1.EventList{}
		if err := fed.Host.List(ctx, list, client.InNamespace(corev1beta1.DefaultNamespace)); err != nil {
			return false, err
		}
		for _, e := range list.Items {
			if e.Regarding.Kind == "FederatedTypeConfig" && e.Regarding.Name == "configmaps" && e.Reason == federate.ReasonAutoFederationFailed {
				t.Logf("event: %s", e.Note)
				return strings.Contains(e.Note, "listing configmaps fails") && strings.Contains(e.Note, "forbidden") &&
					strings.Contains(e.Note, chartUser), nil
			}
		}
		return false, nil
	})
	framework.FederateNamespace(t, fed.Host, "rbac-auto-ns", "local")
	framework.ApplyObject(t, fed.Host, framework.FederatedConfigMap("rbac-auto-ns", "still-propagated", map[string]any{"k": "v"}, "local"))
	waitFor(t, "a FederatedConfigMap propagated meanwhile", func(ctx context.Context) (bool, error) {
		obj, err := framework.GetObject(ctx, fed.Members["local"], configMapGVK, "rbac-auto-ns", "still-propagated")
		return obj != nil, err
	})
}
