package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope="Namespaced",shortName={"mca","mcas"}
// +kubebuilder:printcolumn:name="Available",type=string,JSONPath=`.status.conditions[?(@.type=="Available")].status`
// +kubebuilder:printcolumn:name="Degraded",type=string,JSONPath=`.status.conditions[?(@.type=="Degraded")].status`
// +kubebuilder:printcolumn:name="Progressing",type=string,JSONPath=`.status.conditions[?(@.type=="Progressing")].status`

// ManagedClusterAddOn is the state of one add-on on one managed cluster. It lives in the cluster's
// namespace on the hub. Current klusterlets read and write this version.
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
	// configs are the add-on's own configurations.
	// +optional
	Configs []AddOnConfig `json:"configs,omitempty"`
}

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

	// registrations are how the add-on agent registers with the hub.
	// +optional
	Registrations []RegistrationConfig `json:"registrations,omitempty"`

	// healthCheck is how the add-on's health is checked.
	// +optional
	HealthCheck HealthCheck `json:"healthCheck,omitempty"`
}

// ConfigReference is a current configuration of the add-on.
type ConfigReference struct {
	ConfigGroupResource `json:",inline"`

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

// RegistrationType is the kind of a registration.
type RegistrationType string

const (
	// RegistrationTypeKubeClient registers an agent that talks to the hub API server.
	RegistrationTypeKubeClient RegistrationType = "kubeClient"
	// RegistrationTypeCustomSigner registers an agent that gets a client certificate from a custom
	// signer, for endpoints other than the hub API server.
	RegistrationTypeCustomSigner RegistrationType = "customSigner"
)

// KubeClientConfig.Driver values: how an add-on agent authenticates to the hub API server.
const (
	KubeClientDriverCSR   = "csr"
	KubeClientDriverToken = "token"
)

// RegistrationConfig is how the add-on agent registers with the hub.
type RegistrationConfig struct {
	// type is kubeClient or customSigner.
	// +required
	// +kubebuilder:validation:Enum=kubeClient;customSigner
	Type RegistrationType `json:"type"`

	// kubeClient configures a kubeClient registration.
	// +optional
	KubeClient *KubeClientConfig `json:"kubeClient,omitempty"`

	// customSigner configures a customSigner registration.
	// +optional
	CustomSigner *CustomSignerConfig `json:"customSigner,omitempty"`
}

// KubeClientConfig configures a registration for the hub API server.
type KubeClientConfig struct {
	// subject is the identity the add-on agent registers as.
	// +optional
	Subject KubeClientSubject `json:"subject,omitempty"`

	// driver is csr or token; the agent sets it to the driver it uses.
	// +optional
	// +kubebuilder:validation:Enum=csr;token
	Driver string `json:"driver,omitempty"`
}

// CustomSignerConfig configures a registration with a custom signer.
type CustomSignerConfig struct {
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

// BaseSubject is a user and its groups.
type BaseSubject struct {
	// user is the user name of the add-on agent.
	// +optional
	User string `json:"user"`

	// groups are the groups of the add-on agent.
	// +optional
	Groups []string `json:"groups,omitempty"`
}

// KubeClientSubject is the identity of an add-on agent on the hub API server.
type KubeClientSubject struct {
	BaseSubject `json:",inline"`
}

// Subject is the identity in an add-on agent's client certificate.
type Subject struct {
	BaseSubject `json:",inline"`

	// organizationUnits are the organizational units of the add-on agent.
	// +optional
	OrganizationUnits []string `json:"organizationUnits,omitempty"`
}

// +kubebuilder:object:root=true

// ManagedClusterAddOnList is a list of ManagedClusterAddOns.
type ManagedClusterAddOnList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the add-ons.
	Items []ManagedClusterAddOn `json:"items"`
}
