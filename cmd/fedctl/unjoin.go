package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
)

type unjoinOptions struct {
	clusterFlags
	force   bool
	timeout time.Duration
}

func newUnjoinCommand() *cobra.Command {
	o := &unjoinOptions{}
	cmd := &cobra.Command{
		Use:   "unjoin NAME --cluster-context CONTEXT --host-cluster-context CONTEXT",
		Short: "Remove a member cluster's registration, on both sides",
		Long: `Remove what join created: in the member the ClusterRoleBinding, ClusterRole, token Secret and
ServiceAccount, and the control plane's namespace when join created it (never the host's own
namespace); in the host the KubeFedCluster NAME and its Secret.

Objects that fedplane propagated to the member are not touched. The member is cleaned first; when
it cannot be reached, unjoin stops without changing the host, unless --force is given.`,
		Example: `  fedctl unjoin cce --cluster-context cce --host-cluster-context host`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args[0], cmd.OutOrStdout())
		},
	}
	o.bind(cmd)
	cmd.Flags().BoolVar(&o.force, "force", false, "remove the host's side even when the member cannot be reached or cleaned")
	cmd.Flags().DurationVar(&o.timeout, "timeout", time.Minute, "how long to wait for the API servers")
	return cmd
}

func (o *unjoinOptions) run(ctx context.Context, name string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	c, err := o.load()
	if err != nil {
		return err
	}
	host, kfcs, err := c.hostClients(o.namespace)
	if err != nil {
		return err
	}
	if err := o.cleanMember(ctx, c, name, out); err != nil {
		if !o.force {
			return fmt.Errorf("%w (the host is unchanged; use --force to remove the registration anyway)", err)
		}
		_, _ = fmt.Fprintf(out, "member %s: %v; going on (--force)\n", o.clusterContext, err)
	}
	secretName := name + "-token"
	if kfc, err := kfcs.Get(ctx, name, metav1.GetOptions{}); err == nil {
		if s, found, _ := unstructured.NestedString(kfc.Object, "spec", "secretRef", "name"); found && s != "" {
			secretName = s
		}
	}
	var errs []error
	if err := kfcs.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("host %s: failed to delete KubeFedCluster %s: %w", o.hostContext, name, err))
	}
	if err := host.CoreV1().Secrets(o.namespace).Delete(ctx, secretName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("host %s: failed to delete Secret %s: %w", o.hostContext, secretName, err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(out, "host %s: KubeFedCluster %s and Secret %s removed\nCluster %s unjoined.\n", o.hostContext, name, secretName, name)
	return nil
}

func (o *unjoinOptions) cleanMember(ctx context.Context, c *contexts, name string, out io.Writer) error {
	member, err := kubernetes.NewForConfig(c.member)
	if err != nil {
		return err
	}
	sa := serviceAccountName(name, o.hostContext)
	deletions := []struct {
		what string
		del  func() error
	}{
		{"ClusterRoleBinding " + clusterRoleName(sa), func() error {
			return member.RbacV1().ClusterRoleBindings().Delete(ctx, clusterRoleName(sa), metav1.DeleteOptions{})
		}},
		{"ClusterRole " + clusterRoleName(sa), func() error {
			return member.RbacV1().ClusterRoles().Delete(ctx, clusterRoleName(sa), metav1.DeleteOptions{})
		}},
		{"Secret " + sa + "-token", func() error {
			return member.CoreV1().Secrets(o.namespace).Delete(ctx, sa+"-token", metav1.DeleteOptions{})
		}},
		{"ServiceAccount " + sa, func() error {
			return member.CoreV1().ServiceAccounts(o.namespace).Delete(ctx, sa, metav1.DeleteOptions{})
		}},
	}
	for _, d := range deletions {
		if err := d.del(); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("member %s: failed to delete %s: %w", o.clusterContext, d.what, err)
		}
	}
	// The namespace goes only when join created it and it is not the host's own.
	if c.member.Host != c.host.Host {
		ns, err := member.CoreV1().Namespaces().Get(ctx, o.namespace, metav1.GetOptions{})
		switch {
		case err == nil && ns.Labels[createdByLabel] == createdByJoin:
			if err := member.CoreV1().Namespaces().Delete(ctx, o.namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("member %s: failed to delete namespace %s: %w", o.clusterContext, o.namespace, err)
			}
		case err != nil && !apierrors.IsNotFound(err):
			return fmt.Errorf("member %s: failed to read namespace %s: %w", o.clusterContext, o.namespace, err)
		}
	}
	_, _ = fmt.Fprintf(out, "member %s: ServiceAccount %s, its token Secret and its RBAC removed\n", o.clusterContext, sa)
	return nil
}
