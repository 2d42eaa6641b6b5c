package framework

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// Registration says how a test registers a member cluster in a control plane.
type Registration struct {
	// Name is the KubeFedCluster's name; the member's name when empty.
	Name string
	// CABundle is the CA the control plane trusts for the member; nil trusts none.
	CABundle []byte
	// Labels are the KubeFedCluster's labels.
	Labels map[string]string
	// DisabledTLSValidations turns TLS checks off.
	DisabledTLSValidations []corev1beta1.TLSValidation
}

// Register creates, in the control plane's namespace of host, the token Secret and the
// KubeFedCluster of the member, as fedctl join does, with the member's admin token.
func (c *Cluster) Register(ctx context.Context, host client.Client, r Registration) error {
	name := r.Name
	if name == "" {
		name = c.Name
	}
	ns := corev1beta1.DefaultNamespace
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-token", Namespace: ns},
		Data:       map[string][]byte{cluster.TokenKey: []byte(c.Token())},
	}
	if err := host.Create(ctx, secret); err != nil {
		return fmt.Errorf("failed to create the token Secret of %s: %w", name, err)
	}
	kfc := &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: r.Labels},
		Spec: corev1beta1.KubeFedClusterSpec{
			APIEndpoint: c.Server(), CABundle: r.CABundle,
			SecretRef:              corev1beta1.LocalSecretReference{Name: secret.Name},
			DisabledTLSValidations: r.DisabledTLSValidations,
		},
	}
	if err := host.Create(ctx, kfc); err != nil {
		return fmt.Errorf("failed to create the KubeFedCluster %s: %w", name, err)
	}
	return nil
}
