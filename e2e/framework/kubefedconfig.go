package framework

import (
	"context"
	"testing"

	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// UpdateKubeFedConfig changes the control plane's KubeFedConfig with change, again on a
// conflict.
func UpdateKubeFedConfig(ctx context.Context, t testing.TB, host client.Client, change func(*corev1beta1.KubeFedConfigSpec)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cfg := &corev1beta1.KubeFedConfig{}
		if err := host.Get(ctx, client.ObjectKey{Namespace: corev1beta1.DefaultNamespace, Name: corev1beta1.DefaultConfigName}, cfg); err != nil {
			return err
		}
		change(&cfg.Spec)
		return host.Update(ctx, cfg)
	})
	if err != nil {
		t.Fatalf("failed to update the KubeFedConfig: %v", err)
	}
}

// SetFeatureGate sets one feature gate of the control plane's KubeFedConfig, keeping the others.
func SetFeatureGate(ctx context.Context, t testing.TB, host client.Client, name string, mode corev1beta1.ConfigurationMode) {
	t.Helper()
	UpdateKubeFedConfig(ctx, t, host, func(spec *corev1beta1.KubeFedConfigSpec) {
		gates := []corev1beta1.FeatureGatesConfig{{Name: name, Configuration: mode}}
		for _, g := range spec.FeatureGates {
			if g.Name != name {
				gates = append(gates, g)
			}
		}
		spec.FeatureGates = gates
	})
}
