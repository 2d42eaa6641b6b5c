package federate

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// typePhase is where a type's sync controller stands, as its FederatedTypeConfig reports it:
// a reason of the PropagationControllerRunning condition and a message.
type typePhase struct {
	reason  string
	message string
}

// The phases without a variable message.
var (
	phaseRunning  = typePhase{reason: corev1beta1.ReasonControllerRunning, message: "the sync controller runs and its caches have synced"}
	phaseStarting = typePhase{reason: corev1beta1.ReasonControllerStarting, message: "the sync controller waits for its caches to sync"}
	phaseDisabled = typePhase{reason: corev1beta1.ReasonPropagationDisabled, message: "spec.propagation is Disabled"}
)

// typeConfigStatus returns the status of a FederatedTypeConfig of the given generation whose
// sync controller is in phase p, from its current status: propagationController (and
// statusController, when the type collects status) is Running only in the Running phase, and
// the PropagationControllerRunning condition tells the reason. The condition's transition
// time is now when its status changes, and kept otherwise.
func typeConfigStatus(current corev1beta1.FederatedTypeConfigStatus, generation int64, statusCollection bool, p typePhase, now time.Time) corev1beta1.FederatedTypeConfigStatus {
	running := p.reason == corev1beta1.ReasonControllerRunning
	controller, condition := corev1beta1.ControllerStatusNotRunning, metav1.ConditionFalse
	if running {
		controller, condition = corev1beta1.ControllerStatusRunning, metav1.ConditionTrue
	}
	out := corev1beta1.FederatedTypeConfigStatus{ObservedGeneration: generation, PropagationController: controller}
	if statusCollection {
		out.StatusController = ptr.To(controller)
	}
	for _, c := range current.Conditions {
		out.Conditions = append(out.Conditions, *c.DeepCopy())
	}
	meta.SetStatusCondition(&out.Conditions, metav1.Condition{
		Type:               corev1beta1.PropagationControllerRunning,
		Status:             condition,
		Reason:             p.reason,
		Message:            p.message,
		ObservedGeneration: generation,
		LastTransitionTime: metav1.NewTime(now).Rfc3339Copy(),
	})
	return out
}

// runningReason returns the reason of the PropagationControllerRunning condition, or "".
func runningReason(status corev1beta1.FederatedTypeConfigStatus) string {
	if c := meta.FindStatusCondition(status.Conditions, corev1beta1.PropagationControllerRunning); c != nil {
		return c.Reason
	}
	return ""
}

// A type whose sync controller failed is started again after minRetryDelay, doubling with
// each further failure up to maxRetryDelay.
const (
	minRetryDelay = 5 * time.Second
	maxRetryDelay = 5 * time.Minute
)

// retryDelay is how long to wait before starting a type again after its attempts-th failure in
// a row (the first is 1).
func retryDelay(attempts int) time.Duration {
	d := minRetryDelay
	for i := 1; i < attempts && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}

// servesResource tells whether a discovery list of one group version holds the resource, with
// its kind.
func servesResource(list *metav1.APIResourceList, res corev1beta1.APIResource) bool {
	if list == nil {
		return false
	}
	for _, r := range list.APIResources {
		if r.Name == res.PluralName && r.Kind == res.Kind {
			return true
		}
	}
	return false
}

// crdName is the name of the CustomResourceDefinition that would serve res: its plural and
// group. Kinds of the core group are never custom resources: their name is "".
func crdName(res corev1beta1.APIResource) string {
	if res.Group == "" {
		return ""
	}
	return res.PluralName + "." + res.Group
}

// usesCRD tells whether the CustomResourceDefinition name serves the federated or the target
// kind of a FederatedTypeConfig spec.
func usesCRD(spec corev1beta1.FederatedTypeConfigSpec, name string) bool {
	return name != "" && (crdName(spec.FederatedType) == name || crdName(spec.TargetType) == name)
}

// watchesHost tells whether the sync controller of t watches the host's informer of gvk, its
// own besides the shared KubeFedCluster and KubeFedConfig ones: its federated kind, and the
// FederatedNamespaces for a namespaced type.
func (t Type) watchesHost(gvk schema.GroupVersionKind) bool {
	return t.Federated == gvk || (gvk == typesv1beta1.FederatedNamespaceGVK && t.Namespaced && !t.isNamespace())
}
