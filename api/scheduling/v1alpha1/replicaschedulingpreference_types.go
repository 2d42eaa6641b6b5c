package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReplicaSchedulingPreference spreads the replicas of the FederatedDeployment or
// FederatedReplicaSet of the same namespace and name across member clusters.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=replicaschedulingpreferences,shortName=rsp
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.targetKind`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.spec.totalReplicas`
// +kubebuilder:printcolumn:name="Scheduled",type=integer,JSONPath=`.status.scheduledReplicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Clusters",type=string,JSONPath=`.status.summary`
// +kubebuilder:printcolumn:name="Planned",type=string,JSONPath=`.status.conditions[?(@.type=="Planned")].status`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ReplicaSchedulingPreference struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the scheduling preference.
	Spec ReplicaSchedulingPreferenceSpec `json:"spec"`
	// Status is where the replicas are planned and how many are ready.
	// +optional
	Status ReplicaSchedulingPreferenceStatus `json:"status,omitempty"`
}

// ReplicaSchedulingPreferenceSpec is the spec of a ReplicaSchedulingPreference.
type ReplicaSchedulingPreferenceSpec struct {
	// TargetKind is the kind of the federated workload: FederatedDeployment or
	// FederatedReplicaSet. Its namespace and name are those of this object.
	// +kubebuilder:validation:Enum=FederatedDeployment;FederatedReplicaSet
	TargetKind string `json:"targetKind"`

	// TotalReplicas is the number of replicas to spread across the clusters.
	// +kubebuilder:validation:Minimum=0
	TotalReplicas int32 `json:"totalReplicas"`

	// Rebalance lets the planner move replicas that are already running when the preferred
	// spread differs from the current one. When false, running replicas stay where they are and
	// only the remainder is spread.
	// +optional
	Rebalance bool `json:"rebalance,omitempty"`

	// IntersectWithClusterSelector limits the candidate clusters, which are otherwise every
	// Ready cluster, to those that match both the target's placement.clusterSelector and the
	// clusterSelector of its namespace's FederatedNamespace. placement.clusters is not looked at,
	// a missing clusterSelector matches no cluster, and an empty one matches every cluster.
	// +optional
	IntersectWithClusterSelector bool `json:"intersectWithClusterSelector,omitempty"`

	// Clusters maps cluster names to their preferences. The key "*" applies to every cluster
	// that has no entry of its own. Without any entry, every cluster has weight 1.
	// +optional
	Clusters map[string]ClusterPreferences `json:"clusters,omitempty"`
}

// ClusterPreferences bounds and weighs the replicas of one cluster.
// +kubebuilder:validation:XValidation:rule="!has(self.maxReplicas) || !has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="minReplicas must not be greater than maxReplicas",fieldPath=".minReplicas"
type ClusterPreferences struct {
	// MinReplicas is the least number of replicas the cluster gets, when the total allows.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinReplicas int64 `json:"minReplicas,omitempty"`

	// MaxReplicas is the most replicas the cluster gets. Unset means no limit.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxReplicas *int64 `json:"maxReplicas,omitempty"`

	// Weight is the cluster's share of the replicas beyond the minimums, relative to the other
	// clusters' weights.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Weight int64 `json:"weight,omitempty"`
}

// ReplicaSchedulingPreferenceStatus tells where the replicas are planned and how many run.
type ReplicaSchedulingPreferenceStatus struct {
	// ObservedGeneration is the generation of the spec that the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// ScheduledReplicas is the sum of the replicas planned across the clusters.
	// +optional
	ScheduledReplicas int32 `json:"scheduledReplicas,omitempty"`
	// ReadyReplicas is the sum of the ready replicas observed in the clusters.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// Summary is, per cluster sorted by name, the ready and the planned replicas, as in
	// "cce:5/5 local:7/7".
	// +optional
	Summary string `json:"summary,omitempty"`
	// Clusters lists, per cluster and sorted by name, the planned and the ready replicas.
	// +optional
	// +listType=map
	// +listMapKey=name
	Clusters []ClusterReplicas `json:"clusters,omitempty"`
	// Conditions tell whether the plan is applied to the target, and why not.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ClusterReplicas is the planned and observed replicas of one cluster.
type ClusterReplicas struct {
	// Name is the member cluster.
	Name string `json:"name"`
	// Replicas is the number of replicas planned for the cluster.
	Replicas int32 `json:"replicas"`
	// ReadyReplicas is the number of ready replicas observed in the cluster.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
}

// ReplicaSchedulingPreferenceList is a list of ReplicaSchedulingPreference.
//
// +kubebuilder:object:root=true
type ReplicaSchedulingPreferenceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the preferences.
	Items []ReplicaSchedulingPreference `json:"items"`
}
