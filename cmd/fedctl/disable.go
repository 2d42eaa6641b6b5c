package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// syncFinalizer is the finalizer that the sync controller puts on federated objects, so that
// it removes their copies from member clusters before they go. The name is KubeFed's.
const syncFinalizer = contract.SyncFinalizer

// listedObjects bounds how many federated objects an error names.
const listedObjects = 5

type disableOptions struct {
	hostFlags
	deleteCRD bool
	force     bool
	wait      bool
	timeout   time.Duration
	// controlPlaneID is fed-controller's --control-plane-id; empty means its default.
	controlPlaneID string
}

func newDisableCommand() *cobra.Command {
	o := &disableOptions{}
	cmd := &cobra.Command{
		Use:   "disable TYPE",
		Short: "Stop the propagation of a federated type, and optionally remove it",
		Long: `Stop the propagation of the API type TYPE: set spec.propagation of its FederatedTypeConfig to
Disabled, then wait until fed-controller reports status.propagationController NotRunning. Objects
already propagated stay in the member clusters as they are; federated objects of the type stay in
the host, and propagation resumes from them after fedctl enable.

TYPE is the name of the FederatedTypeConfig (deployments.apps, configmaps) or any name of the
target type that fedctl enable accepts (deployments, Deployment).

With --delete-crd, disable then also deletes the federated type's CRD and the
FederatedTypeConfig. It refuses while federated objects of the type exist, naming some of them,
and changes nothing: delete them first (their copies leave the members while fed-controller still
propagates the type), or pass --force. With --force, the federated objects are deleted with the
CRD; since propagation is already stopped, their copies stay in the member clusters, unmanaged,
as if orphaned (fedctl removes the sync controller's finalizer from them so that the deletion
does not hang; with --wait=false, a fed-controller that has not stopped yet may still remove the
copies). Then, in every member cluster registered in the host (reached as fed-controller reaches
it, through its KubeFedCluster), the copies that this control plane wrote for that registration
lose the label kubefed.io/managed and fedplane's annotations; objects of another control plane
(--control-plane-id), or written for another registration, are left as they are. When a member
cannot be reached, disable names it, keeps the FederatedTypeConfig and fails: run the same
command again once the member is reachable, or unjoined. A CRD that another
FederatedTypeConfig also uses is kept.

When fed-controller does not report NotRunning within --timeout, disable says so and fails
(before deleting anything); --wait=false does not wait.`,
		Example: `  # Stop propagating LimitRanges.
  fedctl disable limitranges

  # Remove the federation of Widgets entirely; refused while FederatedWidgets exist.
  fedctl disable widgets.example.com --delete-crd`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args[0], cmd.OutOrStdout())
		},
	}
	o.bind(cmd)
	cmd.Flags().BoolVar(&o.deleteCRD, "delete-crd", false, "also delete the federated type's CRD and the FederatedTypeConfig (refused while federated objects of the type exist, unless --force)")
	cmd.Flags().BoolVar(&o.force, "force", false, "with --delete-crd, delete the federated objects of the type too, leaving their copies in the member clusters")
	cmd.Flags().BoolVar(&o.wait, "wait", true, "wait until fed-controller reports the type's propagation controller NotRunning")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for fed-controller, for the CRD to be deleted, and for each member cluster")
	cmd.Flags().StringVar(&o.controlPlaneID, "control-plane-id", "", "with --force, fed-controller's --control-plane-id, which marks the member copies to unmanage; empty means its default, the UID of the --kubefed-namespace namespace")
	return cmd
}

func (o *disableOptions) run(ctx context.Context, typeArg string, out io.Writer) error {
	if o.force && !o.deleteCRD {
		return fmt.Errorf("--force goes with --delete-crd only")
	}
	h, err := o.connect()
	if err != nil {
		return err
	}
	ftc, err := h.findTypeConfig(ctx, typeArg)
	if err != nil {
		return err
	}
	if o.deleteCRD {
		if err := o.refuseObjects(ctx, h, ftc); err != nil {
			return err
		}
	}
	if o.force && o.controlPlaneID == "" {
		// Read before anything changes, so that a host without the namespace changes nothing.
		if o.controlPlaneID, err = h.defaultControlPlaneID(ctx); err != nil {
			return err
		}
	}
	if err := o.stopPropagation(ctx, h, ftc, out); err != nil {
		return err
	}
	if !o.deleteCRD {
		return nil
	}
	return o.deleteType(ctx, h, ftc, out)
}

// refuseObjects refuses to delete the federated type while federated objects of it exist,
// unless --force.
func (o *disableOptions) refuseObjects(ctx context.Context, h *hostClient, ftc *corev1beta1.FederatedTypeConfig) error {
	objects, err := h.listObjects(ctx, ftc)
	if err != nil {
		return err
	}
	if len(objects) > 0 && !o.force {
		fedGVR := federatedResource(ftc)
		return fmt.Errorf("refusing to delete CustomResourceDefinition %s: %d %s objects exist (%s); delete them first, or pass --force to delete them too and leave their copies in the member clusters (nothing was changed)",
			groupQualifiedName(fedGVR.Resource, fedGVR.Group), len(objects), ftc.Spec.FederatedType.Kind, objectNames(objects))
	}
	return nil
}

// stopPropagation sets spec.propagation to Disabled and, with --wait, waits until fed-controller
// reports the type's controller NotRunning.
func (o *disableOptions) stopPropagation(ctx context.Context, h *hostClient, ftc *corev1beta1.FederatedTypeConfig, out io.Writer) error {
	ref := typeConfigRef(h, ftc)
	if ftc.Spec.Propagation == corev1beta1.PropagationDisabled {
		fmt.Fprintf(out, "%s: propagation already Disabled\n", ref)
	} else {
		patch := []byte(`{"spec":{"propagation":"` + string(corev1beta1.PropagationDisabled) + `"}}`)
		if _, err := h.dyn.Resource(federatedTypeConfigResource).Namespace(h.namespace).Patch(ctx, ftc.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager}); err != nil {
			return fmt.Errorf("failed to set spec.propagation of %s to Disabled: %w", ref, err)
		}
		fmt.Fprintf(out, "%s: spec.propagation set to Disabled\n", ref)
	}
	if !o.wait {
		return nil
	}
	if err := h.waitNotRunning(ctx, ftc.Name, o.timeout); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: propagation controller NotRunning\n", ref)
	return nil
}

// deleteType deletes the federated type's CRD, unless another FederatedTypeConfig uses it, with
// --force unmanages the copies in the members, then deletes the FederatedTypeConfig. When some
// copies could not be unmanaged, the FederatedTypeConfig is kept, so that the same command can
// finish the work.
func (o *disableOptions) deleteType(ctx context.Context, h *hostClient, ftc *corev1beta1.FederatedTypeConfig, out io.Writer) error {
	ref := typeConfigRef(h, ftc)
	fedGVR := federatedResource(ftc)
	crdName := groupQualifiedName(fedGVR.Resource, fedGVR.Group)
	shared, err := h.sharedCRD(ctx, ftc)
	if err != nil {
		return err
	}
	if shared != "" {
		fmt.Fprintf(out, "CustomResourceDefinition %s kept: FederatedTypeConfig %s/%s uses it too\n", crdName, h.namespace, shared)
	} else {
		if err := o.deleteFederatedCRD(ctx, h, ftc, crdName, out); err != nil {
			return err
		}
		if o.force {
			results, err := h.unmanageCopies(ctx, targetResource(ftc), o.controlPlaneID, o.timeout)
			if err != nil {
				return fmt.Errorf("%w; %s is kept: run the same command again", err, ref)
			}
			if err := reportUnmanaged(out, results, ftc.Spec.TargetType.Kind, ref); err != nil {
				return err
			}
		}
	}
	if err := h.dyn.Resource(federatedTypeConfigResource).Namespace(h.namespace).Delete(ctx, ftc.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to delete %s: %w", ref, err)
	}
	fmt.Fprintf(out, "%s deleted\n", ref)
	return nil
}

// deleteFederatedCRD deletes the federated type's CRD with its objects, whose sync controller's
// finalizer it removes first.
func (o *disableOptions) deleteFederatedCRD(ctx context.Context, h *hostClient, ftc *corev1beta1.FederatedTypeConfig, crdName string, out io.Writer) error {
	// List again: objects may have been created since the check.
	objects, err := h.listObjects(ctx, ftc)
	if err != nil {
		return err
	}
	for i := range objects {
		if err := h.dropSyncFinalizer(ctx, federatedResource(ftc), &objects[i]); err != nil {
			return err
		}
	}
	if err := h.deleteCRD(ctx, crdName, o.timeout); err != nil {
		return err
	}
	if len(objects) > 0 {
		fmt.Fprintf(out, "CustomResourceDefinition %s deleted, with %d %s objects (--force); their copies stay in the member clusters\n", crdName, len(objects), ftc.Spec.FederatedType.Kind)
	} else {
		fmt.Fprintf(out, "CustomResourceDefinition %s deleted\n", crdName)
	}
	return nil
}

// typeConfigRef names a FederatedTypeConfig in messages.
func typeConfigRef(h *hostClient, ftc *corev1beta1.FederatedTypeConfig) string {
	return "FederatedTypeConfig " + h.namespace + "/" + ftc.Name
}

// defaultControlPlaneID is fed-controller's default --control-plane-id: the UID of the control
// plane's namespace.
func (h *hostClient) defaultControlPlaneID(ctx context.Context) (string, error) {
	cs, err := kubernetes.NewForConfig(h.config)
	if err != nil {
		return "", err
	}
	id, found, err := hostID(ctx, cs, h.namespace)
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("namespace %s does not exist in the host: there is no control-plane id to find the member copies by (nothing was changed)", h.namespace)
	}
	return id, nil
}

// listObjects lists the federated objects of the type, in every namespace; none when the
// federated type is not served.
func (h *hostClient) listObjects(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig) ([]unstructured.Unstructured, error) {
	list, err := h.dyn.Resource(federatedResource(ftc)).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to list the %s objects of FederatedTypeConfig %s/%s: %w", ftc.Spec.FederatedType.Kind, h.namespace, ftc.Name, err)
	}
	return list.Items, nil
}

// findTypeConfig returns the FederatedTypeConfig named arg or, failing that, the one of the
// type that arg names in the host's discovery.
func (h *hostClient) findTypeConfig(ctx context.Context, arg string) (*corev1beta1.FederatedTypeConfig, error) {
	if ftc, found, err := h.typeConfig(ctx, arg); err != nil || found {
		return ftc, err
	}
	r, err := h.resolve(arg)
	if err != nil {
		return nil, fmt.Errorf("no FederatedTypeConfig %s/%s, and %w", h.namespace, arg, err)
	}
	name := groupQualifiedName(r.Name, r.Group)
	ftc, found, err := h.typeConfig(ctx, name)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s is not enabled: there is no FederatedTypeConfig %s/%s (fedctl enable %s creates it)", name, h.namespace, name, name)
	}
	return ftc, nil
}

// waitNotRunning waits until fed-controller reports the type's propagation controller
// NotRunning for the current spec.
func (h *hostClient) waitNotRunning(ctx context.Context, name string, timeout time.Duration) error {
	var status corev1beta1.FederatedTypeConfigStatus
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ftc, found, err := h.typeConfig(ctx, name)
		if err != nil || !found {
			return false, err
		}
		status = ftc.Status
		// A controller that reports observedGeneration must have seen the disabled spec.
		current := status.ObservedGeneration == 0 || status.ObservedGeneration >= ftc.Generation
		return current && status.PropagationController == corev1beta1.ControllerStatusNotRunning, nil
	})
	if err != nil {
		got := string(status.PropagationController)
		if got == "" {
			got = "nothing"
		}
		return fmt.Errorf("FederatedTypeConfig %s/%s: spec.propagation is Disabled, but status.propagationController is not NotRunning after %s (it reports %s; is fed-controller running?). Nothing was deleted; --wait=false does not wait: %w",
			h.namespace, name, timeout, got, err)
	}
	return nil
}

// sharedCRD returns the name of another FederatedTypeConfig whose federated type is ftc's.
func (h *hostClient) sharedCRD(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig) (string, error) {
	ftcs, err := h.typeConfigs(ctx)
	if err != nil {
		return "", err
	}
	for _, other := range sortedTypeConfigs(ftcs) {
		if other.Name != ftc.Name && other.Spec.FederatedType.Group == ftc.Spec.FederatedType.Group &&
			other.Spec.FederatedType.PluralName == ftc.Spec.FederatedType.PluralName {
			return other.Name, nil
		}
	}
	return "", nil
}

// dropSyncFinalizer removes the sync controller's finalizer from a federated object whose type
// is no longer propagated, so that deleting it does not wait for a controller that is stopped.
func (h *hostClient) dropSyncFinalizer(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) error {
	finalizers := obj.GetFinalizers()
	if !slices.Contains(finalizers, syncFinalizer) {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": obj.GetResourceVersion(),
		"finalizers":      slices.DeleteFunc(slices.Clone(finalizers), func(f string) bool { return f == syncFinalizer }),
	}})
	if err != nil {
		return err
	}
	// An empty namespace addresses a cluster-scoped object.
	if _, err := h.dyn.Resource(gvr).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to remove finalizer %s from %s: %w", syncFinalizer, refOf(obj), err)
	}
	return nil
}

// deleteCRD deletes the CRD and waits until it is gone.
func (h *hostClient) deleteCRD(ctx context.Context, name string, timeout time.Duration) error {
	if err := h.dyn.Resource(crdResource).Delete(ctx, name, metav1.DeleteOptions{}); apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("failed to delete CustomResourceDefinition %s: %w", name, err)
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		_, err := h.dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CustomResourceDefinition %s is still being deleted after %s (objects of the type may hold other finalizers); the FederatedTypeConfig is kept: %w", name, timeout, err)
	}
	return nil
}

// objectNames lists the first objects as "namespace/name", and how many more there are.
func objectNames(objs []unstructured.Unstructured) string {
	var names []string
	for i, o := range objs {
		if i == listedObjects {
			names = append(names, fmt.Sprintf("and %d more", len(objs)-listedObjects))
			break
		}
		names = append(names, namespacedName(o.GetNamespace(), o.GetName()))
	}
	return strings.Join(names, ", ")
}
