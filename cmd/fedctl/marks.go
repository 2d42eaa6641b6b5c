package main

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// ownership says which join made a member object, as its labels tell.
type ownership int

const (
	// notJoined is an object that no join made.
	notJoined ownership = iota
	// ownJoin is an object that the join of this cluster name from this host made.
	ownJoin
	// unmarkedJoin is an object that a join of this cluster name made, but without the host's
	// mark (fedctl join before the mark existed): nothing tells which host's join it was.
	unmarkedJoin
	// otherJoin is an object that the join of another cluster name, or from another host, made.
	otherJoin
)

// ownerOf tells which join made an object with labels, for the join of cluster from the host
// hostID.
func ownerOf(labels map[string]string, cluster, hostID string) ownership {
	switch {
	case labels[createdByLabel] != createdByJoin:
		return notJoined
	case labels[joinedClusterLabel] != cluster:
		return otherJoin
	case labels[joinedByHostLabel] == "":
		return unmarkedJoin
	case hostID == "" || labels[joinedByHostLabel] != hostID:
		return otherJoin
	default:
		return ownJoin
	}
}

// joinLabels are the labels of what the join of cluster from the host hostID creates. An empty
// hostID (a dry run whose host namespace does not exist yet) leaves the host's mark out.
func joinLabels(cluster, hostID string) map[string]string {
	labels := map[string]string{joinedClusterLabel: cluster, createdByLabel: createdByJoin}
	if hostID != "" {
		labels[joinedByHostLabel] = hostID
	}
	return labels
}

// hostID returns the id of the host that marks the member objects of its joins: the UID of the
// control plane's namespace in the host, which is also fed-controller's default control-plane
// id. found is false when the namespace does not exist.
func hostID(ctx context.Context, host kubernetes.Interface, namespace string) (id string, found bool, err error) {
	ns, err := host.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("failed to read namespace %s for the host's id: %w", namespace, err)
	}
	return string(ns.UID), true, nil
}

// memberObject is one of the objects that a join creates in the member.
type memberObject struct {
	// what names the object in messages: "ServiceAccount kube-federation-system/local-host".
	what string
	get  func(context.Context) (metav1.Object, error)
	// del deletes the object if it still has uid.
	del func(context.Context, types.UID) error
}

// memberObjects lists what the join of the ServiceAccount sa creates in the member, in the
// order unjoin deletes them: the access first, the identity last.
func memberObjects(cs kubernetes.Interface, namespace, sa string) []memberObject {
	role, token := clusterRoleName(sa), sa+"-token"
	only := func(uid types.UID) metav1.DeleteOptions {
		return metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}
	}
	return []memberObject{
		{
			what: "ClusterRoleBinding " + role,
			get: func(ctx context.Context) (metav1.Object, error) {
				return cs.RbacV1().ClusterRoleBindings().Get(ctx, role, metav1.GetOptions{})
			},
			del: func(ctx context.Context, uid types.UID) error {
				return cs.RbacV1().ClusterRoleBindings().Delete(ctx, role, only(uid))
			},
		},
		{
			what: "ClusterRole " + role,
			get: func(ctx context.Context) (metav1.Object, error) {
				return cs.RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{})
			},
			del: func(ctx context.Context, uid types.UID) error {
				return cs.RbacV1().ClusterRoles().Delete(ctx, role, only(uid))
			},
		},
		{
			what: "Secret " + namespace + "/" + token,
			get: func(ctx context.Context) (metav1.Object, error) {
				return cs.CoreV1().Secrets(namespace).Get(ctx, token, metav1.GetOptions{})
			},
			del: func(ctx context.Context, uid types.UID) error {
				return cs.CoreV1().Secrets(namespace).Delete(ctx, token, only(uid))
			},
		},
		{
			what: "ServiceAccount " + namespace + "/" + sa,
			get: func(ctx context.Context) (metav1.Object, error) {
				return cs.CoreV1().ServiceAccounts(namespace).Get(ctx, sa, metav1.GetOptions{})
			},
			del: func(ctx context.Context, uid types.UID) error {
				return cs.CoreV1().ServiceAccounts(namespace).Delete(ctx, sa, only(uid))
			},
		},
	}
}

// describeJoin names the join that made an object with labels, for messages.
func describeJoin(labels map[string]string) string {
	host := labels[joinedByHostLabel]
	if host == "" {
		host = "an unknown host"
	} else {
		host = "the host with id " + host
	}
	return fmt.Sprintf("the join of cluster %q from %s", labels[joinedClusterLabel], host)
}

// refuseOtherJoins refuses to apply over member objects that the join of another cluster
// name or another host made: they share a name with ours (the host contexts of two hosts have
// the same name), and taking them over would hand one host's token to the other and let either
// unjoin remove the other's access.
func refuseOtherJoins(ctx context.Context, objs []memberObject, cluster, id string) error {
	for _, o := range objs {
		obj, err := o.get(ctx)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return fmt.Errorf("failed to read %s: %w", o.what, err)
		}
		if ownerOf(obj.GetLabels(), cluster, id) == otherJoin {
			return fmt.Errorf("%s belongs to %s, not to this one; join it under another name, or from a kubeconfig context with another name", o.what, describeJoin(obj.GetLabels()))
		}
	}
	return nil
}

// remainingJoins lists the ServiceAccounts and Secrets of namespace that a join made, as
// "ServiceAccount NAME", sorted.
func remainingJoins(ctx context.Context, cs kubernetes.Interface, namespace string) ([]string, error) {
	sel := metav1.ListOptions{LabelSelector: createdByLabel + "=" + createdByJoin}
	var found []string
	sas, err := cs.CoreV1().ServiceAccounts(namespace).List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("failed to list the ServiceAccounts of namespace %s: %w", namespace, err)
	}
	for _, o := range sas.Items {
		found = append(found, "ServiceAccount "+o.Name)
	}
	secrets, err := cs.CoreV1().Secrets(namespace).List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("failed to list the Secrets of namespace %s: %w", namespace, err)
	}
	for _, o := range secrets.Items {
		found = append(found, "Secret "+o.Name)
	}
	slices.Sort(found)
	return found, nil
}
