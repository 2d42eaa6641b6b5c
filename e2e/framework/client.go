package framework

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1alpha1 "github.com/fedplane/fedplane/api/core/v1alpha1"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
)

// Scheme returns a scheme with the Kubernetes kinds and fedplane's API kinds.
func Scheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, corev1beta1.AddToScheme, corev1alpha1.AddToScheme, schedulingv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

// InstallAPI installs fedplane's CRDs and default FederatedTypeConfigs into the cluster (see
// Install) and returns an admin client for it that knows fedplane's kinds.
func (c *Cluster) InstallAPI(ctx context.Context) (client.Client, error) {
	if err := Install(ctx, c.RESTConfig()); err != nil {
		return nil, err
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	cl, err := client.New(c.RESTConfig(), client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for %s: %w", c.Name, err)
	}
	return cl, nil
}
