package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// memberConfig is the client configuration of a registered member, built from the
// registration and its Secret as fed-controller builds it. cs reads the host's Secrets.
func (h *hostClient) memberConfig(ctx context.Context, cs kubernetes.Interface, kfc *corev1beta1.KubeFedCluster) (*rest.Config, error) {
	secret, err := cs.CoreV1().Secrets(h.namespace).Get(ctx, kfc.Spec.SecretRef.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		secret = nil
	case err != nil:
		return nil, fmt.Errorf("failed to read its Secret %s: %w", kfc.Spec.SecretRef.Name, err)
	}
	cfg, err := cluster.RESTConfig(kfc, secret)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// memberDynamic is a dynamic client of a registered member (see memberConfig).
func (h *hostClient) memberDynamic(ctx context.Context, cs kubernetes.Interface, kfc *corev1beta1.KubeFedCluster) (dynamic.Interface, *rest.Config, error) {
	cfg, err := h.memberConfig(ctx, cs, kfc)
	if err != nil {
		return nil, nil, err
	}
	member, err := dynamic.NewForConfig(cfg)
	return member, cfg, err
}

// eachMember runs do for every registration at once, each with a context of its own that ends
// after timeout, and returns what each gave, by registration name. cs reads the host's Secrets;
// when it cannot be built, failed gives every registration's result.
func eachMember[T any](ctx context.Context, h *hostClient, clusters []corev1beta1.KubeFedCluster, timeout time.Duration,
	do func(ctx context.Context, cs kubernetes.Interface, kfc *corev1beta1.KubeFedCluster) T, failed func(error) T) map[string]T {
	out := make(map[string]T, len(clusters))
	cs, err := kubernetes.NewForConfig(h.config)
	if err != nil {
		for _, c := range clusters {
			out[c.Name] = failed(err)
		}
		return out
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range clusters {
		wg.Go(func() {
			memberCtx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			v := do(memberCtx, cs, &clusters[i])
			mu.Lock()
			out[clusters[i].Name] = v
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}
