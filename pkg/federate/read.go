package federate

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/hostview"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

// errTemplate says that spec.template is not an object; every selected cluster reports that
// its object cannot be computed.
var errTemplate = errors.New("spec.template must be an object")

// read reads the object's spec and status, the clusters, the KubeFedConfig, the placement of
// the object's FederatedNamespace and the PropagatedVersion. A failure to read a host object
// from the cache is only retried; one that the user must fix is recorded in s.failure.
func (r *SyncReconciler) read(ctx context.Context, s *scope) error {
	if err := r.readObject(s); err != nil {
		return err
	}
	clusters, err := hostview.ListPlacementClusters(ctx, r.Client, r.Namespace)
	if err != nil {
		s.overall = condition{reason: typesv1beta1.ClusterRetrievalFailed, message: err.Error()}
		return err
	}
	s.clusters = clusters
	settings, err := kubefedconfig.Read(ctx, r.Client, r.Namespace)
	if err != nil {
		return err
	}
	s.adopt, s.rawStatus = settings.AdoptResources, settings.FeatureGates.RawResourceStatusCollection
	if !s.deleting && r.Type.Namespaced && !r.Type.isNamespace() {
		if s.nsPlacement, err = hostview.NamespacePlacement(ctx, r.Client, s.fed.GetNamespace()); err != nil {
			return err
		}
	}
	return r.readVersion(ctx, s)
}

// readObject decodes the object's spec and status, and checks that its template is an object.
func (r *SyncReconciler) readObject(s *scope) error {
	if err := hostview.FromUnstructured(s.fed.Object["spec"], &s.spec); err != nil {
		err = fmt.Errorf("failed to decode the spec: %w", err)
		s.overall = condition{reason: typesv1beta1.ComputePlacementFailed, message: err.Error()}
		return reconcile.TerminalError(err)
	}
	if t, found, _ := unstructured.NestedFieldNoCopy(s.fed.Object, "spec", "template"); found {
		if _, ok := t.(map[string]any); !ok && t != nil {
			s.overall = condition{reason: typesv1beta1.ComputePlacementFailed, message: errTemplate.Error()}
			return reconcile.TerminalError(errTemplate)
		}
	}
	if err := hostview.FromUnstructured(s.fed.Object["status"], &s.status); err != nil {
		// A status this controller cannot read is simply rewritten.
		s.status = typesv1beta1.FederatedStatus{}
	}
	return nil
}

// readVersion reads the PropagatedVersion, and the clusters it lists.
func (r *SyncReconciler) readVersion(ctx context.Context, s *scope) error {
	s.version = r.newVersion(s.fed)
	s.recorded = map[string]bool{}
	switch err := r.Client.Get(ctx, client.ObjectKeyFromObject(s.version), s.version); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("failed to read the propagated version: %w", err)
	default:
		for _, cv := range versionStatus(s.version).ClusterVersions {
			s.recorded[cv.ClusterName] = true
		}
	}
	return nil
}

// previousStatus is the cluster's status as the object's status last gave it.
func (s *scope) previousStatus(name string) typesv1beta1.PropagationStatus {
	for _, c := range s.status.Clusters {
		if c.Name == name {
			return c.Status
		}
	}
	return typesv1beta1.ClusterPropagationOK
}

// errNotSynced says that a member's cache has not listed the kind yet.
var errNotSynced = errors.New("the member's objects of this kind are not listed yet")

// cachedCopy reads the member object from the member's cache, which holds managed objects
// only. It never waits for the member: until the cache has listed the kind it says
// errNotSynced, as it does once ctx has ended (the type is stopping), and while the member
// denies the cache's list or watch of the kind, it says so (a *cluster.DeniedError).
func (r *SyncReconciler) cachedCopy(ctx context.Context, s *scope, name string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(r.Type.Target)
	synced, err := r.Members.GetSynced(ctx, name, r.targetKey(s.fed), obj)
	switch {
	case !synced && err != nil:
		return nil, err
	case !synced:
		return nil, errNotSynced
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return obj, nil
}

// liveCopy asks the member's API server for the object: one that is not (or not yet)
// managed, which the cache does not hold, or the whole of a copy that the cache holds slim.
// version "" asks for a quorum read, which sees every write that completed before it; "0"
// lets the API server answer from its own watch cache, which saves it a read of etcd but may
// miss an object made a moment ago, as a read a moment earlier would; any other version is
// the oldest answer accepted, also served from the watch cache.
func (r *SyncReconciler) liveCopy(ctx context.Context, s *scope, lc client.Client, version string) (*unstructured.Unstructured, error) {
	if lc == nil {
		return nil, errors.New("the cluster is not connected")
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(r.Type.Target)
	opts := &client.GetOptions{}
	if version != "" {
		opts.Raw = &metav1.GetOptions{ResourceVersion: version}
	}
	if err := lc.Get(ctx, r.targetKey(s.fed), obj, opts); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return obj, nil
}

// targetKey is the member object's key: the federated object's name, and its namespace for
// namespaced targets.
func (r *SyncReconciler) targetKey(fed *unstructured.Unstructured) client.ObjectKey {
	if r.Type.Namespaced {
		return client.ObjectKey{Namespace: fed.GetNamespace(), Name: fed.GetName()}
	}
	return client.ObjectKey{Name: fed.GetName()}
}

// readyClusters tells which registered clusters are Ready.
func (r *SyncReconciler) readyClusters(ctx context.Context) (map[string]bool, error) {
	clusters, err := hostview.ListPlacementClusters(ctx, r.Client, r.Namespace)
	if err != nil {
		return nil, err
	}
	ready := make(map[string]bool, len(clusters))
	for _, c := range clusters {
		ready[c.Name] = c.Ready
	}
	return ready, nil
}

// isHostNamespace tells whether a member's namespace is the host's own namespace of the same
// name (the host is joined as a member), by comparing UIDs.
func (r *SyncReconciler) isHostNamespace(ctx context.Context, member *unstructured.Unstructured) (bool, error) {
	ns := &corev1.Namespace{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: member.GetName()}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		// The host's answer is not wrapped: it must not be taken for the member's (a denial of
		// the member's role, a member timeout).
		return false, fmt.Errorf("failed to read the host's namespace %s: %s", member.GetName(), err.Error())
	}
	return ns.UID == member.GetUID(), nil
}
