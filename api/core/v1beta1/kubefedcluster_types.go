package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KubeFedCluster registers a member cluster with the control plane: where its API server is
// and which Secret holds the credentials to reach it.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=kubefedclusters,shortName=kfc
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Kubernetes-Version",type=string,JSONPath=`.status.kubernetesVersion`
// +kubebuilder:printcolumn:name="Region",type=string,JSONPath=`.status.region`,priority=1
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.apiEndpoint`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
type KubeFedCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says how to reach the member cluster.
	Spec KubeFedClusterSpec `json:"spec"`
	// Status is the member cluster's health as the control plane sees it.
	// +optional
	Status KubeFedClusterStatus `json:"status,omitempty"`
}

// KubeFedClusterSpec says how to reach a member cluster.
type KubeFedClusterSpec struct {
	// APIEndpoint is the member's API server: an https URL such as https://host:6443, or a
	// host, host:port, IP or IP:port (then https is used). Other schemes, http included, are
	// refused: the member's token must not travel unencrypted.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="!self.matches('\\\\s') && (self.contains('://') ? self.lowerAscii().startsWith('https://') && isURL(self) : isURL('https://' + self))",message="apiEndpoint must be an https URL (https://host:port) or host[:port], which means https; http and other schemes are refused"
	APIEndpoint string `json:"apiEndpoint"`

	// CABundle is the PEM bundle of certificate authorities that sign the member's serving
	// certificate. Empty means the system's roots.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`

	// SecretRef names the Secret, in the control plane's namespace, whose key "token" holds the
	// bearer token for the member (and "ca.crt" its CA, when caBundle is empty).
	SecretRef LocalSecretReference `json:"secretRef"`

	// DisabledTLSValidations lists TLS checks to skip when connecting to the member:
	// SubjectName (the certificate may name another host), ValidityPeriod (the certificate may
	// be expired or not yet valid), or "*" alone (no verification at all).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:validation:XValidation:rule="!('*' in self) || size(self) == 1",message="'*' disables every TLS check and cannot be combined with other entries"
	DisabledTLSValidations []TLSValidation `json:"disabledTLSValidations,omitempty"`

	// ProxyURL is the URL of the proxy to reach the member through (http, https or socks5).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self == '' || (self.matches('^(https?|socks5)://') && isURL(self))",message="must be an http, https or socks5 URL"
	ProxyURL string `json:"proxyURL,omitempty"`
}

// LocalSecretReference names a Secret in the same namespace.
type LocalSecretReference struct {
	// Name is the Secret's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// TLSValidation is a TLS check that can be disabled.
// +kubebuilder:validation:Enum="*";SubjectName;ValidityPeriod
type TLSValidation string

// The TLS checks that a KubeFedCluster can disable.
const (
	// TLSAll disables every check: the connection is not verified at all.
	TLSAll TLSValidation = "*"
	// TLSSubjectName accepts a certificate issued for another host name.
	TLSSubjectName TLSValidation = "SubjectName"
	// TLSValidityPeriod accepts a certificate outside its validity period.
	TLSValidityPeriod TLSValidation = "ValidityPeriod"
)

// KubeFedClusterStatus is a member cluster's health and topology.
type KubeFedClusterStatus struct {
	// Conditions are the probe results: Ready, Offline or ConfigMalformed.
	// +optional
	Conditions []ClusterCondition `json:"conditions,omitempty"`
	// KubernetesVersion is the member API server's version.
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// Zones are the distinct zones of the member's nodes, sorted.
	// +optional
	Zones []string `json:"zones,omitempty"`
	// Region is the region of the member's nodes.
	// +optional
	Region *string `json:"region,omitempty"`
	// ClusterID is the member's identity: the UID of its kube-system namespace. Two
	// registrations with one ClusterID reach the same cluster; only the older one is used.
	// +optional
	ClusterID string `json:"clusterID,omitempty"`
}

// ClusterConditionType is the type of a KubeFedCluster condition.
type ClusterConditionType string

// The condition types of a KubeFedCluster.
const (
	// ClusterReady means the member answered its health probe with ok.
	ClusterReady ClusterConditionType = "Ready"
	// ClusterOffline means the member could not be reached.
	ClusterOffline ClusterConditionType = "Offline"
	// ClusterConfigMalformed means no client could be built from the registration.
	ClusterConfigMalformed ClusterConditionType = "ConfigMalformed"
)

// The reasons of KubeFedCluster conditions.
const (
	ReasonClusterReady           = "ClusterReady"
	ReasonClusterNotReady        = "ClusterNotReady"
	ReasonClusterNotReachable    = "ClusterNotReachable"
	ReasonClusterReachable       = "ClusterReachable"
	ReasonClusterConfigMalformed = "ClusterConfigMalformed"
	// ReasonDuplicateCluster means another, older registration reaches the same cluster (the
	// same kube-system namespace UID), so this one is not used.
	ReasonDuplicateCluster = "DuplicateCluster"
)

// ClusterCondition is one condition of a member cluster, in KubeFed's shape.
type ClusterCondition struct {
	// Type is Ready, Offline or ConfigMalformed.
	Type ClusterConditionType `json:"type"`
	// Status is True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// LastProbeTime is when the condition was last probed.
	// +optional
	LastProbeTime metav1.Time `json:"lastProbeTime,omitzero"`
	// LastTransitionTime is when the status last changed.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
	// Reason is a CamelCase reason for the status.
	// +optional
	Reason *string `json:"reason,omitempty"`
	// Message is a human-readable explanation.
	// +optional
	Message *string `json:"message,omitempty"`
}

// KubeFedClusterList is a list of KubeFedCluster.
//
// +kubebuilder:object:root=true
type KubeFedClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the clusters.
	Items []KubeFedCluster `json:"items"`
}
