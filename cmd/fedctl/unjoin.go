package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
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
ServiceAccount of this host's join of NAME, and the control plane's namespace when join created it
and no other join (from another host, or of another name) still has objects in it (never the
host's own namespace); in the host the KubeFedCluster NAME and its Secret.

join marks each member object with the host's id (label fedplane.io/joined-by-host, the UID of the
control plane's namespace in the host) and the cluster name (fedplane.io/joined-cluster); unjoin
deletes only objects with both of its own marks. Objects of an older join, which carry no host
mark, are kept and named in the output: run join again from the same host to mark them.

Objects that fedplane propagated to the member are not touched. The member is cleaned first; when
it cannot be reached, unjoin stops without changing the host, unless --force is given. Give it the
--host-cluster-name that join was given, if any: it is part of the member objects' names.`,
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
	if err := o.cleanMember(ctx, c, host, name, out); err != nil {
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

// cleanMember deletes, in the member, what this host's join of name created, and the namespace
// when join created it and no other join's objects are left in it. What it cannot prove to be
// this join's stays, and the output says so.
func (o *unjoinOptions) cleanMember(ctx context.Context, c *contexts, host kubernetes.Interface, name string, out io.Writer) error {
	member, err := kubernetes.NewForConfig(c.member)
	if err != nil {
		return err
	}
	say := func(format string, args ...any) {
		_, _ = fmt.Fprintf(out, "member %s: "+format+"\n", append([]any{o.clusterContext}, args...)...)
	}
	id, found, err := hostID(ctx, host, o.namespace)
	if err != nil {
		return fmt.Errorf("host %s: %w", o.hostContext, err)
	}
	if !found {
		say("the host has no namespace %s, whose UID marks what its joins created; nothing can be proven to be this host's, so everything is kept", o.namespace)
	}
	sa := serviceAccountName(name, o.hostClusterName())
	unmarked := false
	for _, obj := range memberObjects(member, o.namespace, sa) {
		got, err := obj.get(ctx)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return fmt.Errorf("member %s: failed to read %s: %w", o.clusterContext, obj.what, err)
		}
		switch ownerOf(got.GetLabels(), name, id) {
		case ownJoin:
			if err := obj.del(ctx, got.GetUID()); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("member %s: failed to delete %s: %w", o.clusterContext, obj.what, err)
			}
			say("%s removed", obj.what)
		case unmarkedJoin:
			say("%s kept: it has no %s label (an older fedctl join created it)", obj.what, joinedByHostLabel)
			unmarked = true
		case otherJoin:
			say("%s kept: it belongs to %s", obj.what, describeJoin(got.GetLabels()))
		case notJoined:
			say("%s kept: fedctl join did not create it", obj.what)
		}
	}
	if unmarked {
		say("nothing proves that this host's join created what has no host mark; run fedctl join again from this host to mark it, then unjoin, or delete it by hand")
	}
	return o.cleanNamespace(ctx, c, member, id, say)
}

// cleanNamespace deletes the member's control-plane namespace when join created it, it is not
// the host's own, and no join's ServiceAccount or Secret is left in it.
func (o *unjoinOptions) cleanNamespace(ctx context.Context, c *contexts, member kubernetes.Interface, id string, say func(string, ...any)) error {
	ns, err := member.CoreV1().Namespaces().Get(ctx, o.namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("member %s: failed to read namespace %s: %w", o.clusterContext, o.namespace, err)
	case ns.DeletionTimestamp != nil:
		return nil
	case (id != "" && string(ns.UID) == id) || c.member.Host == c.host.Host:
		say("namespace %s kept: it is the host's own", o.namespace)
		return nil
	case ns.Labels[createdByLabel] != createdByJoin:
		say("namespace %s kept: fedctl join did not create it", o.namespace)
		return nil
	}
	users, err := remainingJoins(ctx, member, o.namespace)
	if err != nil {
		return fmt.Errorf("member %s: %w", o.clusterContext, err)
	}
	if len(users) > 0 {
		say("namespace %s kept: it still holds objects that a join created (%s)", o.namespace, strings.Join(users, ", "))
		return nil
	}
	uid := ns.UID
	if err := member.CoreV1().Namespaces().Delete(ctx, o.namespace, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("member %s: failed to delete namespace %s: %w", o.clusterContext, o.namespace, err)
	}
	say("namespace %s removed", o.namespace)
	return nil
}
