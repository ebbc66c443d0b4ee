package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope="Namespaced",shortName={"mca","mcas"}
// +kubebuilder:printcolumn:name="Available",type=string,JSONPath=`.status.conditions[?(@.type=="Available")].status`
// +kubebuilder:printcolumn:name="Degraded",type=string,JSONPath=`.status.conditions[?(@.type=="Degraded")].status`
// +kubebuilder:printcolumn:name="Progressing",type=string,JSONPath=`.status.conditions[?(@.type=="Progressing")].status`

// ManagedClusterAddOn is the state of one add-on on one managed cluster. It lives in the cluster's
// namespace on the hub.
type ManagedClusterAddOn struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired configuration of the add-on on this cluster.
	// +required
	// +kubebuilder:validation:Required
	Spec ManagedClusterAddOnSpec `json:"spec"`

	// status is the state of the add-on on this cluster.
	// +optional
	Status ManagedClusterAddOnStatus `json:"status"`
}

// ManagedClusterAddOnSpec is the desired configuration of an add-on on one cluster.
type ManagedClusterAddOnSpec struct {
	// installNamespace is the namespace on the managed cluster the add-on agent is installed in.
	// Deprecated: use AddOnDeploymentConfig instead.
	// +optional
	// +kubebuilder:default=open-cluster-management-agent-addon
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	InstallNamespace string `json:"installNamespace,omitempty"`

	// configs are the add-on's own configurations.
	// +optional
	Configs []AddOnConfig `json:"configs,omitempty"`
}

// KubeClientDriver values: how an add-on agent authenticates to the hub API server.
const (
	KubeClientDriverCSR   = "csr"
	KubeClientDriverToken = "token"
)

// ManagedClusterAddOnStatus is the state of an add-on on one cluster.
type ManagedClusterAddOnStatus struct {
	// conditions are the add-on's conditions: Available, Degraded, Progressing, ...
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// relatedObjects are objects related to the add-on.
	// +optional
	RelatedObjects []ObjectReference `json:"relatedObjects,omitempty"`

	// addOnMeta is the add-on's descriptive metadata.
	// +optional
	AddOnMeta AddOnMeta `json:"addOnMeta,omitempty"`

	// addOnConfiguration locates the add-on's configuration.
	// Deprecated: use configReferences instead.
	// +optional
	AddOnConfiguration ConfigCoordinates `json:"addOnConfiguration,omitempty"`

	// supportedConfigs are the configuration types this cluster may override.
	// +optional
	// +listType=map
	// +listMapKey=group
	// +listMapKey=resource
	SupportedConfigs []ConfigGroupResource `json:"supportedConfigs,omitempty"`

	// configReferences are the add-on's current configurations.
	// +optional
	ConfigReferences []ConfigReference `json:"configReferences,omitempty"`

	// namespace is the namespace on the managed cluster for the add-on's registration secrets and
	// lease.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// registrations are how the add-on agent registers with the hub; one CSR is made for each.
	// +optional
	Registrations []RegistrationConfig `json:"registrations,omitempty"`

	// healthCheck is how the add-on's health is checked.
	// +optional
	HealthCheck HealthCheck `json:"healthCheck,omitempty"`

	// kubeClientDriver is the driver (csr or token) the agent uses to authenticate to the hub API
	// server for the kubernetes.io/kube-apiserver-client signer.
	// +optional
	// +kubebuilder:validation:Enum=csr;token
	KubeClientDriver string `json:"kubeClientDriver,omitempty"`
}

// ConfigCoordinates locates an add-on's configuration.
type ConfigCoordinates struct {
	// crdName is the name of the CRD that configures the add-on.
	// +optional
	CRDName string `json:"crdName,omitempty"`

	// crName is the name of the CR that configures the add-on.
	// +optional
	CRName string `json:"crName,omitempty"`

	// lastObservedGeneration is the observed generation of that CR.
	// +optional
	LastObservedGeneration int64 `json:"lastObservedGeneration,omitempty"`
}

// ConfigReference is a current configuration of the add-on.
type ConfigReference struct {
	ConfigGroupResource `json:",inline"`
	ConfigReferent      `json:",inline"`

	// lastObservedGeneration is the observed generation of the configuration.
	// +optional
	LastObservedGeneration int64 `json:"lastObservedGeneration"`

	// desiredConfig is the configuration that should be applied.
	// +optional
	DesiredConfig *ConfigSpecHash `json:"desiredConfig"`

	// lastAppliedConfig is the configuration last applied successfully.
	// +optional
	LastAppliedConfig *ConfigSpecHash `json:"lastAppliedConfig"`
}

// RegistrationConfig is how the add-on agent registers with the hub: the klusterlet makes a CSR
// for it with this signer and subject.
type RegistrationConfig struct {
	// signerName is the signer of the add-on agent's CSR.
	// +required
	// +kubebuilder:validation:MinLength=5
	// +kubebuilder:validation:MaxLength=571
	// +kubebuilder:validation:Pattern=`^([a-z0-9][a-z0-9-]*[a-z0-9]\.)+[a-z]+\/[a-z0-9-\.]+$`
	SignerName string `json:"signerName"`

	// subject is the identity the add-on agent registers as.
	// +optional
	Subject Subject `json:"subject,omitempty"`
}

// Subject is the identity an add-on agent registers as.
type Subject struct {
	// user is the user name of the add-on agent.
	// +optional
	User string `json:"user"`

	// groups are the groups of the add-on agent.
	// +optional
	Groups []string `json:"groups,omitempty"`

	// organizationUnit are the organizational units of the add-on agent.
	// +optional
	OrganizationUnits []string `json:"organizationUnit,omitempty"`
}

// +kubebuilder:object:root=true

// ManagedClusterAddOnList is a list of ManagedClusterAddOns.
type ManagedClusterAddOnList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the add-ons.
	Items []ManagedClusterAddOn `json:"items"`
}
