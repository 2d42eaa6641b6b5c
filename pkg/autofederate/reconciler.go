package autofederate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// Event reasons, on the host object.
const (
	// ReasonFederated: a federated object was generated from the host object.
	ReasonFederated = "Federated"
	// ReasonUnfederated: the label was removed, and the federated object deleted.
	ReasonUnfederated = "Unfederated"
	// ReasonInvalidPlacement: the placement annotation cannot be read; nothing is written.
	ReasonInvalidPlacement = "InvalidPlacement"
	// ReasonFederatedObjectConflict: a federated object of the same name that was not
	// generated from the host object is in the way; it is left as it is.
	ReasonFederatedObjectConflict = "FederatedObjectConflict"
	// ReasonNotFederated: the host object is not federated, for the reason the event gives.
	ReasonNotFederated = "NotFederated"
	// ReasonFederateFailed: writing the federated object failed; it is tried again.
	ReasonFederateFailed = "FederateFailed"
	// ReasonUnfederateFailed, on the generated federated object: deleting it (or marking it
	// to keep its copies) failed; it is tried again.
	ReasonUnfederateFailed = "UnfederateFailed"
)

// deletingRecheck is how soon a host object whose federated object is being deleted is looked at
// again, to generate a new one once the old one is gone.
const deletingRecheck = 2 * time.Second

// Store holds the host objects of the type that carry the federate label (with any value), by
// the key namespace/name (name alone for cluster-scoped ones): an informer's store.
type Store interface {
	GetByKey(key string) (item any, exists bool, err error)
}

// Reconciler keeps, for every host object of one federated type's target kind labelled
// fedplane.io/federate=true, a federated object of the same name whose template is the object,
// owned by it (controller reference). It is reconciled by the host object's key. The template and
// owner reference are written with server-side apply as AutoFederateTemplateOwner, forced, at
// each change; the placement as AutoFederatePlacementOwner, only when the federated object is
// created or the placement annotation changes, so placement and overrides written by hand on
// the federated object stay. A federated object that was not generated from the host object is
// never written.
type Reconciler struct {
	// Client reads federated objects from the manager's cache and writes them.
	Client client.Client
	// APIReader reads host objects directly, to tell a removed label from a deleted object.
	APIReader client.Reader
	// Labelled holds the labelled host objects.
	Labelled Store
	// Recorder records events on the host objects.
	Recorder events.EventRecorder
	// Type is the FederatedTypeConfig of the type.
	Type *corev1beta1.FederatedTypeConfig
}

// Reconcile federates, updates or unfederates one host object.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	native, err := r.labelled(req.NamespacedName)
	if err != nil {
		return reconcile.Result{}, err
	}
	fed, err := r.federated(ctx, r.federatedKey(req.NamespacedName))
	if err != nil {
		return reconcile.Result{}, err
	}
	if native != nil && native.GetLabels()[contract.FederateLabel] == contract.FederateLabelValue && native.GetDeletionTimestamp() == nil {
		return r.federate(ctx, native, fed)
	}
	if fed == nil || r.owner(fed, req.Name) == nil {
		return reconcile.Result{}, nil
	}
	return r.unfederate(ctx, req.NamespacedName, fed)
}

// labelled returns the host object from the store, or nil.
func (r *Reconciler) labelled(key types.NamespacedName) (*unstructured.Unstructured, error) {
	item, found, err := r.Labelled.GetByKey(storeKey(key))
	if err != nil || !found {
		return nil, err
	}
	u, ok := item.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("the store of labelled objects holds a %T", item)
	}
	return u, nil
}

func storeKey(key types.NamespacedName) string {
	if key.Namespace == "" {
		return key.Name
	}
	return key.Namespace + "/" + key.Name
}

// FederatedKey is the key of the federated object of the host object key: the same, except
// that a FederatedNamespace is in the namespace it federates.
func (r *Reconciler) federatedKey(key types.NamespacedName) types.NamespacedName {
	return FederatedKey(r.Type.Spec.TargetType, key)
}

// FederatedKey is the key of the federated object of the host object key of the target type.
func FederatedKey(target corev1beta1.APIResource, key types.NamespacedName) types.NamespacedName {
	if contract.IsNamespace(target.Group, target.Kind) {
		return types.NamespacedName{Namespace: key.Name, Name: key.Name}
	}
	return key
}

// NativeKey is the key of the host object that a federated object of the type would be
// generated from, or false when none could be (a FederatedNamespace outside its namespace).
func NativeKey(target corev1beta1.APIResource, fed client.Object) (types.NamespacedName, bool) {
	if contract.IsNamespace(target.Group, target.Kind) {
		return types.NamespacedName{Name: fed.GetName()}, fed.GetNamespace() == fed.GetName()
	}
	return client.ObjectKeyFromObject(fed), true
}

// federated reads the federated object from the cache, or returns nil.
func (r *Reconciler) federated(ctx context.Context, key types.NamespacedName) (*unstructured.Unstructured, error) {
	fed := r.newFederated()
	if err := r.Client.Get(ctx, key, fed); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to read %s %s: %w", fed.GetKind(), key, err)
	}
	return fed, nil
}

func (r *Reconciler) newFederated() *unstructured.Unstructured {
	ft := r.Type.Spec.FederatedType
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: ft.Group, Version: ft.Version, Kind: ft.Kind})
	return u
}

// targetGVK is the kind of the host objects.
func (r *Reconciler) targetGVK() schema.GroupVersionKind {
	t := r.Type.Spec.TargetType
	return schema.GroupVersionKind{Group: t.Group, Version: t.Version, Kind: t.Kind}
}

// owner returns the controller reference of fed when it names a host object of the target kind
// called name: fed was generated from that object, or from an earlier one of the same name.
func (r *Reconciler) owner(fed *unstructured.Unstructured, name string) *metav1.OwnerReference {
	ref := metav1.GetControllerOfNoCopy(fed)
	if ref == nil || ref.Kind != r.Type.Spec.TargetType.Kind || ref.Name != name {
		return nil
	}
	if gv, err := schema.ParseGroupVersion(ref.APIVersion); err != nil || gv.Group != r.Type.Spec.TargetType.Group {
		return nil
	}
	return ref
}

// federate creates or updates the federated object of a labelled host object.
func (r *Reconciler) federate(ctx context.Context, native, fed *unstructured.Unstructured) (reconcile.Result, error) {
	if res, blocked, err := r.blocked(ctx, native, fed); blocked {
		return res, err
	}
	placement, placementHash, err := placementOf(native)
	if err != nil {
		r.event(native, corev1.EventTypeWarning, ReasonInvalidPlacement, "Federate", "Not federated: %v", err)
		return reconcile.Result{}, nil
	}
	want, err := r.templateApply(native)
	if err != nil {
		r.event(native, corev1.EventTypeWarning, ReasonNotFederated, "Federate", "Not federated: %v", err)
		return reconcile.Result{}, nil
	}
	fail := func(what string, err error) (reconcile.Result, error) {
		r.event(native, corev1.EventTypeWarning, ReasonFederateFailed, "Federate", "Failed to %s %s %s, trying again: %v", what, want.GetKind(), client.ObjectKeyFromObject(want), err)
		return reconcile.Result{}, err
	}
	log := ctrl.LoggerFrom(ctx)
	if fed == nil {
		created, err := r.create(ctx, want)
		if err != nil {
			return fail("create", err)
		}
		if !created {
			// One that the cache had not seen yet is in the way: the next reconcile, brought
			// by its event, tells whose it is.
			return reconcile.Result{RequeueAfter: time.Second}, nil
		}
	}
	if fed == nil || !r.templateCurrent(fed, want, native.GetUID()) {
		if err := r.apply(ctx, want, contract.AutoFederateTemplateOwner); err != nil {
			return fail("write the template of", err)
		}
		log.V(1).Info("applied the template of a generated federated object")
	}
	if fed == nil || fed.GetAnnotations()[contract.PlacementAppliedAnnotation] != placementHash {
		if err := r.applyPlacement(ctx, want, placement, placementHash); err != nil {
			return fail("write the placement of", err)
		}
		log.V(1).Info("applied the placement of a generated federated object")
	}
	if fed == nil {
		r.event(native, corev1.EventTypeNormal, ReasonFederated, "Federate", "Created %s %s", want.GetKind(), client.ObjectKeyFromObject(want))
	}
	return reconcile.Result{}, nil
}

// blocked tells whether a labelled host object cannot be federated now, and what to return: it
// is a propagated copy; a federated object of its name is not one generated from it; or the one
// generated from an earlier object of its name is still there (and is deleted).
func (r *Reconciler) blocked(ctx context.Context, native, fed *unstructured.Unstructured) (reconcile.Result, bool, error) {
	if why := notFederated(native); why != "" {
		r.event(native, corev1.EventTypeWarning, ReasonNotFederated, "Federate", "Not federated: %s", why)
		return reconcile.Result{}, true, nil
	}
	if fed == nil {
		return reconcile.Result{}, false, nil
	}
	owner := r.owner(fed, native.GetName())
	switch {
	case owner == nil:
		r.event(native, corev1.EventTypeWarning, ReasonFederatedObjectConflict, "Federate",
			"%s %s exists and was not generated from this object; it is left as it is, and this object is not federated", fed.GetKind(), client.ObjectKeyFromObject(fed))
		return reconcile.Result{}, true, nil
	case fed.GetDeletionTimestamp() != nil:
		return reconcile.Result{RequeueAfter: deletingRecheck}, true, nil
	case owner.UID != native.GetUID():
		// Generated from an earlier object of the same name, since deleted: it goes, as it
		// would have with that object, and a new one is generated once it is gone.
		if err := r.delete(ctx, fed); err != nil {
			return reconcile.Result{}, true, err
		}
		return reconcile.Result{RequeueAfter: deletingRecheck}, true, nil
	}
	return reconcile.Result{}, false, nil
}

// placementOf returns the placement of a host object's federated object, and the hash that
// tells whether it changed: the placement annotation's, or every cluster without it.
func placementOf(native *unstructured.Unstructured) (map[string]any, string, error) {
	value, ok := native.GetAnnotations()[contract.PlacementAnnotation]
	if !ok {
		return EveryCluster(), "every-cluster", nil
	}
	p, err := ParsePlacement(value)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256([]byte(value))
	return p, hex.EncodeToString(sum[:8]), nil
}

// applyPlacement applies the placement of the federated object want, and its hash, as the
// placement's field owner.
func (r *Reconciler) applyPlacement(ctx context.Context, want *unstructured.Unstructured, placement map[string]any, hash string) error {
	p := r.newFederated()
	p.SetName(want.GetName())
	p.SetNamespace(want.GetNamespace())
	p.SetAnnotations(map[string]string{contract.PlacementAppliedAnnotation: hash})
	p.Object["spec"] = map[string]any{"placement": placement}
	return r.apply(ctx, p, contract.AutoFederatePlacementOwner)
}

// notFederated says why a labelled host object is not federated, or "".
func notFederated(native *unstructured.Unstructured) string {
	if native.GetLabels()[contract.ManagedLabel] == contract.ManagedLabelValue {
		return "it is a copy that a control plane propagates (" + contract.ManagedLabel + "=" + contract.ManagedLabelValue + ")"
	}
	return ""
}

// templateApply is what the template's field owner applies: the owner reference and the
// template.
func (r *Reconciler) templateApply(native *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	tmpl, err := Template(r.Type.Spec.TargetType, native)
	if err != nil {
		return nil, err
	}
	key := r.federatedKey(client.ObjectKeyFromObject(native))
	fed := r.newFederated()
	fed.SetName(key.Name)
	fed.SetNamespace(key.Namespace)
	if r.Type.Spec.FederatedType.Scope != corev1beta1.NamespaceScoped {
		fed.SetNamespace("")
	}
	fed.SetOwnerReferences([]metav1.OwnerReference{*metav1.NewControllerRef(native, r.targetGVK())})
	fed.Object["spec"] = map[string]any{"template": tmpl}
	return fed, nil
}

// templateCurrent tells whether fed already has want's template and is owned by the host
// object uid.
func (r *Reconciler) templateCurrent(fed, want *unstructured.Unstructured, uid types.UID) bool {
	ref := metav1.GetControllerOfNoCopy(fed)
	if ref == nil || ref.UID != uid {
		return false
	}
	have, _, _ := unstructured.NestedFieldNoCopy(fed.Object, "spec", "template")
	return equality.Semantic.DeepEqual(normalize(have), normalize(want.Object["spec"].(map[string]any)["template"]))
}

// normalize gives a JSON value one form (numbers as float64), so that a value read from the
// API and one built here compare equal when they encode the same.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}

// create creates the federated object with only its name and owner reference, and tells
// whether it did: false when one exists already. Only a create can tell that no federated object
// is there; an apply would be merged into one that the cache has not seen yet, such as the
// user's own. The template and placement are applied next.
func (r *Reconciler) create(ctx context.Context, want *unstructured.Unstructured) (bool, error) {
	obj := r.newFederated()
	obj.SetName(want.GetName())
	obj.SetNamespace(want.GetNamespace())
	obj.SetOwnerReferences(want.GetOwnerReferences())
	obj.Object["spec"] = map[string]any{}
	err := r.Client.Create(ctx, obj, client.FieldOwner(contract.AutoFederateTemplateOwner))
	switch {
	case apierrors.IsAlreadyExists(err):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// apply applies obj with server-side apply as owner, taking over conflicting fields.
func (r *Reconciler) apply(ctx context.Context, obj *unstructured.Unstructured, owner string) error {
	return r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(owner), client.ForceOwnership)
}

// unfederate deletes the federated object generated from a host object that is no longer
// labelled, or that is gone: with its copies, or keeping them (kubefed.io/orphan) when the host
// object asks so with fedplane.io/orphan-on-unfederate.
func (r *Reconciler) unfederate(ctx context.Context, key types.NamespacedName, fed *unstructured.Unstructured) (reconcile.Result, error) {
	ref := r.owner(fed, key.Name)
	native := &unstructured.Unstructured{}
	native.SetGroupVersionKind(r.targetGVK())
	err := r.APIReader.Get(ctx, key, native)
	switch {
	case apierrors.IsNotFound(err) || err == nil && native.GetUID() != ref.UID:
		// The host object is gone: so go the federated object and its copies, as the
		// garbage collector would do, which the host may not run.
		return reconcile.Result{}, r.delete(ctx, fed)
	case err != nil:
		return reconcile.Result{}, fmt.Errorf("failed to read %s %s: %w", native.GetKind(), key, err)
	case native.GetLabels()[contract.FederateLabel] == contract.FederateLabelValue && native.GetDeletionTimestamp() == nil:
		// The store has not seen the label yet.
		return reconcile.Result{RequeueAfter: time.Second}, nil
	}
	orphan := native.GetAnnotations()[contract.OrphanOnUnfederateAnnotation] == "true" && native.GetDeletionTimestamp() == nil
	if orphan && fed.GetAnnotations()[contract.OrphanAnnotation] != "true" {
		patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"`+contract.OrphanAnnotation+`":"true"}}}`))
		if err := r.Client.Patch(ctx, fed, patch); err != nil {
			r.event(fed, corev1.EventTypeWarning, ReasonUnfederateFailed, "Unfederate", "Failed to set %s before the deletion, trying again: %v", contract.OrphanAnnotation, err)
			return reconcile.Result{}, fmt.Errorf("failed to annotate %s %s %s: %w", fed.GetKind(), client.ObjectKeyFromObject(fed), contract.OrphanAnnotation, err)
		}
	}
	if err := r.delete(ctx, fed); err != nil {
		return reconcile.Result{}, err
	}
	what := "its copies are deleted"
	if orphan {
		what = "its copies are kept (" + contract.OrphanOnUnfederateAnnotation + ")"
	}
	r.event(native, corev1.EventTypeNormal, ReasonUnfederated, "Unfederate", "Deleted %s %s; %s", fed.GetKind(), client.ObjectKeyFromObject(fed), what)
	return reconcile.Result{}, nil
}

// delete deletes the federated object read, not one created again since.
func (r *Reconciler) delete(ctx context.Context, fed *unstructured.Unstructured) error {
	if fed.GetDeletionTimestamp() != nil {
		return nil
	}
	uid := fed.GetUID()
	err := r.Client.Delete(ctx, fed, client.Preconditions{UID: &uid})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		r.event(fed, corev1.EventTypeWarning, ReasonUnfederateFailed, "Unfederate", "Failed to delete this generated object, trying again: %v", err)
		return fmt.Errorf("failed to delete %s %s: %w", fed.GetKind(), client.ObjectKeyFromObject(fed), err)
	}
	ctrl.LoggerFrom(ctx).Info("deleted a generated federated object", "orphan", fed.GetAnnotations()[contract.OrphanAnnotation] == "true")
	return nil
}

// event records an event on a host object or a generated federated object.
func (r *Reconciler) event(obj *unstructured.Unstructured, eventType, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(obj, nil, eventType, reason, action, note, args...)
	}
}
