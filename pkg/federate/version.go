package federate

import (
	"context"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	corev1alpha1 "github.com/fedplane/fedplane/api/core/v1alpha1"
	"github.com/fedplane/fedplane/pkg/conflict"
	"github.com/fedplane/fedplane/pkg/jsonhash"
)

// PropagatedVersionName is the name of the (Cluster)PropagatedVersion of a federated object:
// the target kind in lower case, a dash, and the object's name ("deployment-web").
func PropagatedVersionName(targetKind, name string) string {
	return strings.ToLower(targetKind) + "-" + name
}

// TemplateVersion is KubeFed's version of a federated object's spec.template: the hex MD5 of
// its JSON as an unstructured object encodes it (sorted keys, HTML characters escaped, and a
// final newline). It is empty when the object has no template.
func TemplateVersion(fed *unstructured.Unstructured) (string, error) {
	template, found, err := unstructured.NestedFieldNoCopy(fed.Object, "spec", "template")
	if err != nil || !found {
		return "", err
	}
	return jsonhash.MD5(template)
}

// OverridesVersion is KubeFed's version of a federated object's spec.overrides: the hex MD5 of
// {"overrides": [...]} encoded the same way ({"overrides":null} without overrides). It is empty
// when the object has no spec.
func OverridesVersion(fed *unstructured.Unstructured) (string, error) {
	spec, found, err := unstructured.NestedFieldNoCopy(fed.Object, "spec")
	if err != nil || !found {
		return "", err
	}
	m, _ := spec.(map[string]any)
	return jsonhash.MD5(map[string]any{"overrides": m["overrides"]})
}

// ClusterVersion is KubeFed's version of a member object: "gen:<generation>" for kinds that
// have a generation, else "rv:<resourceVersion>".
func ClusterVersion(obj *unstructured.Unstructured) string {
	if g := obj.GetGeneration(); g != 0 {
		return "gen:" + strconv.FormatInt(g, 10)
	}
	return "rv:" + obj.GetResourceVersion()
}

// recordVersion writes the PropagatedVersion of an object that stays, then gives the
// clusters' result.
func (r *SyncReconciler) recordVersion(ctx context.Context, s *scope, result reconcile.Result, err error) (reconcile.Result, error) {
	verr := r.writeVersion(ctx, s)
	if apierrors.HasStatusCause(verr, corev1.NamespaceTerminatingCause) {
		// The object's namespace is being deleted, and the object with it: its deletion brings
		// it back, and no retry could create the version now.
		ctrl.LoggerFrom(ctx).V(1).Info("the propagated version is not recorded: the namespace is being deleted")
		return result, err
	}
	// A race is most often with this controller's own write, which the cache has not seen yet.
	return conflict.Join(ctx, "write the propagated version", result, err, verr)
}

// newVersion returns an empty (Cluster)PropagatedVersion with the object's version's key.
func (r *SyncReconciler) newVersion(fed *unstructured.Unstructured) client.Object {
	name := PropagatedVersionName(r.Type.Target.Kind, fed.GetName())
	if fed.GetNamespace() == "" {
		return &corev1alpha1.ClusterPropagatedVersion{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	return &corev1alpha1.PropagatedVersion{ObjectMeta: metav1.ObjectMeta{Namespace: fed.GetNamespace(), Name: name}}
}

func versionStatus(obj client.Object) *corev1alpha1.PropagatedVersionStatus {
	switch v := obj.(type) {
	case *corev1alpha1.PropagatedVersion:
		return &v.Status
	case *corev1alpha1.ClusterPropagatedVersion:
		return &v.Status
	}
	return nil
}

// wantVersion is the PropagatedVersion's status that the clusters' outcomes give: the
// template and overrides versions, and the member objects' versions.
func wantVersion(s *scope) (corev1alpha1.PropagatedVersionStatus, error) {
	tv, err := TemplateVersion(s.fed)
	if err != nil {
		return corev1alpha1.PropagatedVersionStatus{}, err
	}
	ov, err := OverridesVersion(s.fed)
	if err != nil {
		return corev1alpha1.PropagatedVersionStatus{}, err
	}
	want := corev1alpha1.PropagatedVersionStatus{TemplateVersion: tv, OverrideVersion: ov}
	for _, res := range s.results {
		if res.version != "" {
			want.ClusterVersions = append(want.ClusterVersions, corev1alpha1.ClusterObjectVersion{ClusterName: res.name, Version: res.version})
		} else if res.decision.Pending && s.recorded[res.name] {
			// A copy not removed yet stays recorded.
			for _, cv := range versionStatus(s.version).ClusterVersions {
				if cv.ClusterName == res.name {
					want.ClusterVersions = append(want.ClusterVersions, cv)
				}
			}
		}
	}
	sort.Slice(want.ClusterVersions, func(i, j int) bool { return want.ClusterVersions[i].ClusterName < want.ClusterVersions[j].ClusterName })
	return want, nil
}

// writeVersion records the template and overrides versions and the member objects' versions,
// as KubeFed's PropagatedVersion does, when they changed.
func (r *SyncReconciler) writeVersion(ctx context.Context, s *scope) error {
	want, err := wantVersion(s)
	if err != nil {
		return err
	}
	if s.version.GetResourceVersion() != "" && equalVersions(*versionStatus(s.version), want) {
		return nil
	}
	*versionStatus(s.version) = want
	if s.version.GetResourceVersion() == "" {
		if len(want.ClusterVersions) == 0 {
			return nil
		}
		s.version.SetOwnerReferences([]metav1.OwnerReference{{
			APIVersion: s.fed.GetAPIVersion(), Kind: s.fed.GetKind(), Name: s.fed.GetName(), UID: s.fed.GetUID(),
		}})
		if err := r.Client.Create(ctx, s.version); err != nil {
			return err
		}
	} else if err := r.Client.Update(ctx, s.version); err != nil {
		return err
	}
	if equalVersions(*versionStatus(s.version), want) {
		return nil
	}
	// The installed CRD has a status subresource (KubeFed's does), which dropped the status.
	*versionStatus(s.version) = want
	return r.Client.Status().Update(ctx, s.version)
}

func equalVersions(a, b corev1alpha1.PropagatedVersionStatus) bool {
	if a.TemplateVersion != b.TemplateVersion || a.OverrideVersion != b.OverrideVersion || len(a.ClusterVersions) != len(b.ClusterVersions) {
		return false
	}
	for i := range a.ClusterVersions {
		if a.ClusterVersions[i] != b.ClusterVersions[i] {
			return false
		}
	}
	return true
}
