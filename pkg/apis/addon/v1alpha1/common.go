package v1alpha1

// Condition types of ManagedClusterAddOn.status.conditions.
const (
	// ManagedClusterAddOnConditionAvailable is True while the add-on agent runs on the cluster.
	ManagedClusterAddOnConditionAvailable = "Available"
	// ManagedClusterAddOnConditionDegraded is True while the add-on agent gives degraded service.
	ManagedClusterAddOnConditionDegraded = "Degraded"
	// ManagedClusterAddOnConditionProgressing is True while the add-on agent applies configuration.
	ManagedClusterAddOnConditionProgressing = "Progressing"
	// ManagedClusterAddOnConditionConfigured is True once the add-on agent is configured.
	ManagedClusterAddOnConditionConfigured = "Configured"
)

// AddonLabelKey labels hub objects (CSRs, ManifestWorks, ...) with the name of their add-on.
const AddonLabelKey = "open-cluster-management.io/addon-name"

// ConfigGroupResource is the group and resource of an add-on configuration type.
type ConfigGroupResource struct {
	// group of the add-on configuration.
	// +optional
	// +kubebuilder:default=""
	Group string `json:"group"`

	// resource of the add-on configuration.
	// +required
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MinLength:=1
	Resource string `json:"resource"`
}

// ConfigReferent is the namespace and name of an add-on configuration.
type ConfigReferent struct {
	// namespace of the add-on configuration; empty for cluster-scoped configurations.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// name of the add-on configuration.
	// +required
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MinLength:=1
	Name string `json:"name"`
}

// ConfigSpecHash is an add-on configuration and the hash of its spec.
type ConfigSpecHash struct {
	ConfigReferent `json:",inline"`

	// specHash is the hash of the configuration's spec.
	// +optional
	SpecHash string `json:"specHash"`
}

// AddOnConfig references one add-on configuration.
type AddOnConfig struct {
	ConfigGroupResource `json:",inline"`
	ConfigReferent      `json:",inline"`
}

// AddOnMeta is descriptive metadata of an add-on.
type AddOnMeta struct {
	// displayName is the name of the add-on shown to users.
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// description describes the add-on.
	// +optional
	Description string `json:"description,omitempty"`
}

// ObjectReference points at an object related to the add-on.
type ObjectReference struct {
	// group of the referent.
	// +required
	// +kubebuilder:validation:Required
	Group string `json:"group"`

	// resource of the referent.
	// +required
	// +kubebuilder:validation:Required
	Resource string `json:"resource"`

	// namespace of the referent.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// name of the referent.
	// +required
	// +kubebuilder:validation:Required
	Name string `json:"name"`
}

// HealthCheckMode is how the health of an add-on is checked.
// +kubebuilder:validation:Enum=Lease;Customized
type HealthCheckMode string

const (
	// HealthCheckModeLease means the registration agent watches a lease the add-on renews.
	HealthCheckModeLease HealthCheckMode = "Lease"
	// HealthCheckModeCustomized means the add-on reports its health itself.
	HealthCheckModeCustomized HealthCheckMode = "Customized"
)

// HealthCheck is how the health of an add-on is checked.
type HealthCheck struct {
	// mode is Lease or Customized.
	// +optional
	// +kubebuilder:default=Lease
	Mode HealthCheckMode `json:"mode,omitempty"`
}
