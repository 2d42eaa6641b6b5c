package federate

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// The times of successive reconciles of a FederatedTypeConfig.
var (
	ftcT0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	ftcT1 = ftcT0.Add(5 * time.Minute)
)

// ftcStatus builds a FederatedTypeConfigStatus fluently.
type ftcStatus struct {
	s corev1beta1.FederatedTypeConfigStatus
}

func newFTCStatus(generation int64, controller corev1beta1.ControllerStatus) *ftcStatus {
	return &ftcStatus{s: corev1beta1.FederatedTypeConfigStatus{ObservedGeneration: generation, PropagationController: controller}}
}

func (b *ftcStatus) statusController(c corev1beta1.ControllerStatus) *ftcStatus {
	b.s.StatusController = ptr.To(c)
	return b
}

// running adds the PropagationControllerRunning condition.
func (b *ftcStatus) running(st metav1.ConditionStatus, reason, message string, generation int64, transitioned time.Time) *ftcStatus {
	b.s.Conditions = append(b.s.Conditions, metav1.Condition{
		Type: corev1beta1.PropagationControllerRunning, Status: st, Reason: reason, Message: message,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(transitioned),
	})
	return b
}

// condition adds a condition of another type.
func (b *ftcStatus) condition(c metav1.Condition) *ftcStatus {
	b.s.Conditions = append(b.s.Conditions, c)
	return b
}

func (b *ftcStatus) build() corev1beta1.FederatedTypeConfigStatus { return *b.s.DeepCopy() }

func TestTypeConfigStatus(t *testing.T) {
	syncFailed := typePhase{reason: corev1beta1.ReasonCacheSyncFailed, message: "the caches did not sync within 3s"}
	notServed := typePhase{reason: corev1beta1.ReasonKindNotServed, message: "the host does not serve types.kubefed.io/v1beta1"}
	other := metav1.Condition{Type: "Other", Status: metav1.ConditionTrue, Reason: "Kept", LastTransitionTime: metav1.NewTime(ftcT0)}
	for _, tc := range []struct {
		name             string
		current          corev1beta1.FederatedTypeConfigStatus
		generation       int64
		statusCollection bool
		phase            typePhase
		want             corev1beta1.FederatedTypeConfigStatus
	}{
		{
			name:       "a new config that runs is Running with a True condition",
			generation: 1,
			phase:      phaseRunning,
			want:       newFTCStatus(1, corev1beta1.ControllerStatusRunning).running(metav1.ConditionTrue, "Running", phaseRunning.message, 1, ftcT1).build(),
		},
		{
			name:       "starting is NotRunning: the caches have not synced yet",
			generation: 1,
			phase:      phaseStarting,
			want:       newFTCStatus(1, corev1beta1.ControllerStatusNotRunning).running(metav1.ConditionFalse, "Starting", phaseStarting.message, 1, ftcT1).build(),
		},
		{
			name:       "a running type whose cache failed turns NotRunning at this time, with the reason",
			current:    newFTCStatus(1, corev1beta1.ControllerStatusRunning).running(metav1.ConditionTrue, "Running", phaseRunning.message, 1, ftcT0).build(),
			generation: 1,
			phase:      syncFailed,
			want:       newFTCStatus(1, corev1beta1.ControllerStatusNotRunning).running(metav1.ConditionFalse, "CacheSyncFailed", syncFailed.message, 1, ftcT1).build(),
		},
		{
			name:       "another False reason keeps the transition time",
			current:    newFTCStatus(1, corev1beta1.ControllerStatusNotRunning).running(metav1.ConditionFalse, "CacheSyncFailed", syncFailed.message, 1, ftcT0).build(),
			generation: 1,
			phase:      notServed,
			want:       newFTCStatus(1, corev1beta1.ControllerStatusNotRunning).running(metav1.ConditionFalse, "KindNotServed", notServed.message, 1, ftcT0).build(),
		},
		{
			name:       "the same phase at a new generation changes only the generations",
			current:    newFTCStatus(1, corev1beta1.ControllerStatusRunning).running(metav1.ConditionTrue, "Running", phaseRunning.message, 1, ftcT0).build(),
			generation: 2,
			phase:      phaseRunning,
			want:       newFTCStatus(2, corev1beta1.ControllerStatusRunning).running(metav1.ConditionTrue, "Running", phaseRunning.message, 2, ftcT0).build(),
		},
		{
			name:       "disabled is NotRunning with the reason Disabled",
			current:    newFTCStatus(1, corev1beta1.ControllerStatusRunning).running(metav1.ConditionTrue, "Running", phaseRunning.message, 1, ftcT0).build(),
			generation: 2,
			phase:      phaseDisabled,
			want:       newFTCStatus(2, corev1beta1.ControllerStatusNotRunning).running(metav1.ConditionFalse, "Disabled", phaseDisabled.message, 2, ftcT1).build(),
		},
		{
			name:             "a type that collects status reports its status controller the same",
			generation:       1,
			statusCollection: true,
			phase:            syncFailed,
			want: newFTCStatus(1, corev1beta1.ControllerStatusNotRunning).statusController(corev1beta1.ControllerStatusNotRunning).
				running(metav1.ConditionFalse, "CacheSyncFailed", syncFailed.message, 1, ftcT1).build(),
		},
		{
			name:       "a status written by KubeFed, without conditions, gets one",
			current:    newFTCStatus(3, corev1beta1.ControllerStatusRunning).build(),
			generation: 3,
			phase:      phaseRunning,
			want:       newFTCStatus(3, corev1beta1.ControllerStatusRunning).running(metav1.ConditionTrue, "Running", phaseRunning.message, 3, ftcT1).build(),
		},
		{
			name:       "other conditions stay",
			current:    newFTCStatus(1, corev1beta1.ControllerStatusRunning).condition(other).build(),
			generation: 1,
			phase:      phaseRunning,
			want:       newFTCStatus(1, corev1beta1.ControllerStatusRunning).condition(other).running(metav1.ConditionTrue, "Running", phaseRunning.message, 1, ftcT1).build(),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			current := *tc.current.DeepCopy()
			got := typeConfigStatus(current, tc.generation, tc.statusCollection, tc.phase, ftcT1)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("typeConfigStatus() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.current, current); diff != "" {
				t.Errorf("typeConfigStatus() changed the current status (-before +after):\n%s", diff)
			}
			if reason := runningReason(got); reason != tc.phase.reason {
				t.Errorf("runningReason() = %q, want %q", reason, tc.phase.reason)
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{
		{0, 5 * time.Second},
		{1, 5 * time.Second},
		{2, 10 * time.Second},
		{3, 20 * time.Second},
		{6, 160 * time.Second},
		{7, 5 * time.Minute},
		{8, 5 * time.Minute},
		{1000, 5 * time.Minute},
	} {
		if got := retryDelay(tc.attempts); got != tc.want {
			t.Errorf("retryDelay(%d) = %s, want %s", tc.attempts, got, tc.want)
		}
	}
}

func TestServesResource(t *testing.T) {
	widget := corev1beta1.APIResource{Group: "example.com", Version: "v1", Kind: "Widget", PluralName: "widgets"}
	list := &metav1.APIResourceList{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
		{Name: "gadgets", Kind: "Gadget"},
		{Name: "widgets/status", Kind: "Widget"},
	}}
	for _, tc := range []struct {
		name string
		list *metav1.APIResourceList
		want bool
	}{
		{name: "no list: the group version is not served", list: nil, want: false},
		{name: "only the status subresource is not the resource", list: list, want: false},
		{name: "the resource with its kind", list: &metav1.APIResourceList{APIResources: append(list.APIResources, metav1.APIResource{Name: "widgets", Kind: "Widget"})}, want: true},
		{name: "the resource under another kind", list: &metav1.APIResourceList{APIResources: []metav1.APIResource{{Name: "widgets", Kind: "Sprocket"}}}, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := servesResource(tc.list, widget); got != tc.want {
				t.Errorf("servesResource() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUsesCRD(t *testing.T) {
	spec := func(target, federated corev1beta1.APIResource) corev1beta1.FederatedTypeConfigSpec {
		return corev1beta1.FederatedTypeConfigSpec{TargetType: target, FederatedType: federated}
	}
	widgets := spec(
		corev1beta1.APIResource{Group: "example.com", Version: "v1", Kind: "Widget", PluralName: "widgets"},
		corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedWidget", PluralName: "federatedwidgets"},
	)
	configMaps := spec(
		corev1beta1.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps"},
		corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedConfigMap", PluralName: "federatedconfigmaps"},
	)
	for _, tc := range []struct {
		name string
		spec corev1beta1.FederatedTypeConfigSpec
		crd  string
		want bool
	}{
		{name: "the federated type's CRD", spec: widgets, crd: "federatedwidgets.types.kubefed.io", want: true},
		{name: "the target type's CRD", spec: widgets, crd: "widgets.example.com", want: true},
		{name: "another type's CRD", spec: widgets, crd: "federatedconfigmaps.types.kubefed.io", want: false},
		{name: "a core kind has no CRD: a CRD named as its plural is not it", spec: configMaps, crd: "configmaps", want: false},
		{name: "no name", spec: configMaps, crd: "", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := usesCRD(tc.spec, tc.crd); got != tc.want {
				t.Errorf("usesCRD(%q) = %v, want %v", tc.crd, got, tc.want)
			}
		})
	}
}

func TestWatchesHost(t *testing.T) {
	widgets := Type{Federated: schema.GroupVersionKind{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedWidget"}, Namespaced: true}
	namespaces := Type{Target: schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, Federated: typesv1beta1.FederatedNamespaceGVK}
	clusterRoles := Type{Federated: schema.GroupVersionKind{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedClusterRole"}}
	for _, tc := range []struct {
		name string
		t    Type
		gvk  schema.GroupVersionKind
		want bool
	}{
		{name: "its federated kind", t: widgets, gvk: widgets.Federated, want: true},
		{name: "a namespaced type watches the FederatedNamespaces", t: widgets, gvk: typesv1beta1.FederatedNamespaceGVK, want: true},
		{name: "a cluster-scoped type does not", t: clusterRoles, gvk: typesv1beta1.FederatedNamespaceGVK, want: false},
		{name: "the namespaces type watches them as its federated kind", t: namespaces, gvk: typesv1beta1.FederatedNamespaceGVK, want: true},
		{name: "another type's federated kind", t: clusterRoles, gvk: widgets.Federated, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.t.watchesHost(tc.gvk); got != tc.want {
				t.Errorf("watchesHost(%s) = %v, want %v", tc.gvk.Kind, got, tc.want)
			}
		})
	}
}
