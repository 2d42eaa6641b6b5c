package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/overrides"
)

// unmanageAttempts bounds how often one member object is read again after its patch failed.
const unmanageAttempts = 3

// ownCopy tells whether a member object is a copy that the control plane controlPlaneID wrote
// for the registration cluster: labelled managed, with both of the sync controller's marks
// naming them. Objects without the marks, or with another control plane's or another
// registration's, are never changed.
func ownCopy(obj metav1.Object, controlPlaneID, cluster string) bool {
	ann := obj.GetAnnotations()
	return obj.GetLabels()[contract.ManagedLabel] == "true" &&
		controlPlaneID != "" && ann[contract.ControlPlaneAnnotation] == controlPlaneID &&
		cluster != "" && ann[contract.ClusterAnnotation] == cluster
}

// jsonPatchOp is one operation of an RFC 6902 patch.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value,omitempty"`
}

// unmanagePatch is the JSON patch that removes the managed label and the sync controller's
// annotations from obj, a copy that ownCopy accepts. It tests the label and the two marks
// first, so that the server applies it only while the object is still that copy, whatever
// else (its status) changed since it was read.
func unmanagePatch(obj metav1.Object) ([]byte, error) {
	label := "/metadata/labels/" + overrides.EscapePointerToken(contract.ManagedLabel)
	annotation := func(key string) string { return "/metadata/annotations/" + overrides.EscapePointerToken(key) }
	ann := obj.GetAnnotations()
	ops := []jsonPatchOp{
		{Op: "test", Path: label, Value: "true"},
		{Op: "test", Path: annotation(contract.ControlPlaneAnnotation), Value: ann[contract.ControlPlaneAnnotation]},
		{Op: "test", Path: annotation(contract.ClusterAnnotation), Value: ann[contract.ClusterAnnotation]},
		{Op: "remove", Path: label},
		{Op: "remove", Path: annotation(contract.ControlPlaneAnnotation)},
		{Op: "remove", Path: annotation(contract.ClusterAnnotation)},
	}
	if _, ok := ann[contract.AppliedAnnotation]; ok {
		ops = append(ops, jsonPatchOp{Op: "remove", Path: annotation(contract.AppliedAnnotation)})
	}
	return json.Marshal(ops)
}

// unmanaged is what unmanaging the copies of a type did in one registered member.
type unmanaged struct {
	// cluster is the KubeFedCluster's name.
	cluster string
	// count is how many copies lost the marks; left how many managed objects of the type were
	// left alone (another control plane's, or written for another registration).
	count, left int
	// err says why the member's copies could not all be unmanaged.
	err error
}

// unmanageCopies removes, in every registered member at once, the managed label and the sync
// controller's annotations from the copies of the target type that the control plane
// controlPlaneID wrote for that registration; each member has timeout.
func (h *hostClient) unmanageCopies(ctx context.Context, gvr schema.GroupVersionResource, controlPlaneID string, timeout time.Duration) ([]unmanaged, error) {
	cs, err := kubernetes.NewForConfig(h.config)
	if err != nil {
		return nil, err
	}
	clusters, err := h.registrations(ctx)
	if err != nil {
		return nil, err
	}
	results := make([]unmanaged, len(clusters))
	var wg sync.WaitGroup
	for i := range clusters {
		wg.Go(func() {
			memberCtx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			results[i] = h.unmanageIn(memberCtx, cs, &clusters[i], gvr, controlPlaneID)
		})
	}
	wg.Wait()
	return results, nil
}

// registrations lists the KubeFedClusters of the control plane's namespace, sorted by name.
func (h *hostClient) registrations(ctx context.Context) ([]corev1beta1.KubeFedCluster, error) {
	list, err := h.dyn.Resource(kubeFedClusterResource).Namespace(h.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to list the KubeFedClusters of %s: %w", h.namespace, err)
	}
	clusters := make([]corev1beta1.KubeFedCluster, len(list.Items))
	for i := range list.Items {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[i].Object, &clusters[i]); err != nil {
			return nil, fmt.Errorf("failed to decode KubeFedCluster %s: %w", list.Items[i].GetName(), err)
		}
	}
	sort.Slice(clusters, func(i, j int) bool { return clusters[i].Name < clusters[j].Name })
	return clusters, nil
}

// unmanageIn unmanages the copies of one registered member, connecting to it as fed-controller
// does, with the registration's endpoint and credentials.
func (h *hostClient) unmanageIn(ctx context.Context, cs kubernetes.Interface, kfc *corev1beta1.KubeFedCluster, gvr schema.GroupVersionResource, controlPlaneID string) unmanaged {
	res := unmanaged{cluster: kfc.Name}
	member, _, err := h.memberDynamic(ctx, cs, kfc)
	if err != nil {
		res.err = err
		return res
	}
	res.count, res.left, res.err = unmanageMember(ctx, member, gvr, controlPlaneID, kfc.Name)
	return res
}

// unmanageMember lists the member's managed objects of gvr and unmanages those that ownCopy
// accepts. A member that does not serve the type has none.
func unmanageMember(ctx context.Context, member dynamic.Interface, gvr schema.GroupVersionResource, controlPlaneID, cluster string) (count, left int, err error) {
	opts := metav1.ListOptions{LabelSelector: contract.ManagedLabel + "=true", Limit: 500}
	for {
		list, err := member.Resource(gvr).List(ctx, opts)
		if apierrors.IsNotFound(err) {
			return count, left, nil
		}
		if err != nil {
			return count, left, fmt.Errorf("failed to list %s: %w", gvr.Resource, err)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			if !ownCopy(obj, controlPlaneID, cluster) {
				left++
				continue
			}
			if err := unmanageOne(ctx, member.Resource(gvr).Namespace(obj.GetNamespace()), obj, controlPlaneID, cluster); err != nil {
				return count, left, err
			}
			count++
		}
		if opts.Continue = list.GetContinue(); opts.Continue == "" {
			return count, left, nil
		}
	}
}

// unmanageOne applies unmanagePatch to one copy. When the patch fails, the copy is read again:
// one that is gone, or is no longer this registration's copy, is left as it is.
func unmanageOne(ctx context.Context, rc dynamic.ResourceInterface, obj *unstructured.Unstructured, controlPlaneID, cluster string) error {
	for attempt := 1; ; attempt++ {
		patch, err := unmanagePatch(obj)
		if err != nil {
			return err
		}
		_, err = rc.Patch(ctx, obj.GetName(), types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: fieldManager})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if attempt == unmanageAttempts || ctx.Err() != nil {
			return fmt.Errorf("failed to remove the managed label from %s: %w", refOf(obj), err)
		}
		fresh, err := rc.Get(ctx, obj.GetName(), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("failed to read %s again: %w", refOf(obj), err)
		case !ownCopy(fresh, controlPlaneID, cluster):
			return nil
		}
		obj = fresh
	}
}

// reportUnmanaged prints what unmanaging did in each member, and returns the error that names
// the members whose copies could not all be unmanaged, and what is left.
func reportUnmanaged(out io.Writer, results []unmanaged, kind, ftcRef string) error {
	var failed, reasons []string
	for _, r := range results {
		fmt.Fprintf(out, "KubeFedCluster %s: %d %s copies unmanaged", r.cluster, r.count, kind)
		if r.left > 0 {
			fmt.Fprintf(out, "; %d managed by another control plane or written for another registration, left as they are", r.left)
		}
		if r.err != nil {
			fmt.Fprintf(out, ", then failed: %v", r.err)
			failed = append(failed, "KubeFedCluster "+r.cluster)
			reasons = append(reasons, r.cluster+": "+r.err.Error())
		}
		fmt.Fprintln(out)
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("the %s copies in %s could not all be unmanaged: those left are still labelled %s=true (%s). %s is kept: run the same command again once the clusters are reachable, or unjoined",
		kind, strings.Join(failed, ", "), contract.ManagedLabel, strings.Join(reasons, "; "), ftcRef)
}
