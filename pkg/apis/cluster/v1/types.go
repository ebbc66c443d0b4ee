package v1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types of ManagedCluster.status.conditions.
const (
	// ManagedClusterConditionJoined is True once the klusterlet agent has joined the hub.
	ManagedClusterConditionJoined = "ManagedClusterJoined"
	// ManagedClusterConditionHubAccepted is True once a hub admin accepted the cluster.
	ManagedClusterConditionHubAccepted = "HubAcceptedManagedCluster"
	// ManagedClusterConditionHubDenied is True when a hub admin denied the cluster.
	ManagedClusterConditionHubDenied = "HubDeniedManagedCluster"
	// ManagedClusterConditionAvailable is True while the agent keeps its lease up to date.
	ManagedClusterConditionAvailable = "ManagedClusterConditionAvailable"
	// ManagedClusterConditionClockSynced is True while the agent's clock agrees with the hub's.
	ManagedClusterConditionClockSynced = "ManagedClusterConditionClockSynced"
)

const (
	// ClusterNameLabelKey labels hub objects (CSRs, leases, ...) with the name of their ManagedCluster.
	ClusterNameLabelKey = "open-cluster-management.io/cluster-name"
	// ManagedClusterFinalizer is set by the hub so it can clean up cluster resources on deletion.
	ManagedClusterFinalizer = "cluster.open-cluster-management.io/api-resource-cleanup"
)

// Taint keys the hub sets on clusters; agents cannot add or remove them.
const (
	ManagedClusterTaintUnavailable = "cluster.open-cluster-management.io/unavailable"
	ManagedClusterTaintUnreachable = "cluster.open-cluster-management.io/unreachable"
	ManagedClusterTaintTerminating = "cluster.open-cluster-management.io/terminating"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope="Cluster",shortName={"mcl","mcls"}
// +kubebuilder:printcolumn:JSONPath=`.spec.hubAcceptsClient`,name="Hub Accepted",type=boolean
// +kubebuilder:printcolumn:JSONPath=`.spec.managedClusterClientConfigs[*].url`,name="Managed Cluster URLs",type=string
// +kubebuilder:printcolumn:JSONPath=`.status.conditions[?(@.type=="ManagedClusterJoined")].status`,name="Joined",type=string
// +kubebuilder:printcolumn:JSONPath=`.status.conditions[?(@.type=="ManagedClusterConditionAvailable")].status`,name="Available",type=string
// +kubebuilder:printcolumn:JSONPath=`.metadata.creationTimestamp`,name="Age",type=date

// ManagedCluster is the hub's record of a managed cluster. It is cluster-scoped and its name is the
// cluster name. The klusterlet agent creates it and keeps its status current; a hub admin accepts it
// by setting spec.hubAcceptsClient.
type ManagedCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired configuration of the cluster's agent.
	// +optional
	Spec ManagedClusterSpec `json:"spec"`

	// Status is the state the agent reports for the cluster.
	// +optional
	Status ManagedClusterStatus `json:"status,omitempty"`
}

// ManagedClusterSpec is the desired configuration of a managed cluster's agent.
type ManagedClusterSpec struct {
	// managedClusterClientConfigs lists the API server addresses of the managed cluster.
	// +optional
	ManagedClusterClientConfigs []ClientConfig `json:"managedClusterClientConfigs,omitempty"`

	// hubAcceptsClient is set to true by a hub admin to accept the cluster. Only users allowed to
	// update the managedclusters/accept subresource may set it.
	// +optional
	HubAcceptsClient bool `json:"hubAcceptsClient"`

	// leaseDurationSeconds is how often the agent renews its lease on the hub.
	// +optional
	// +kubebuilder:default=60
	LeaseDurationSeconds int32 `json:"leaseDurationSeconds,omitempty"`

	// taints keep placements from selecting the cluster unless they tolerate them.
	// +optional
	Taints []Taint `json:"taints,omitempty"`
}

// ClientConfig is an API server address of the managed cluster.
type ClientConfig struct {
	// url is the URL of the managed cluster's API server.
	// +required
	URL string `json:"url"`

	// caBundle is the CA bundle for that API server; system roots are used when empty.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`
}

// TaintEffect is what a taint does to placements that do not tolerate it.
type TaintEffect string

// The taint effects.
const (
	TaintEffectNoSelect       TaintEffect = "NoSelect"
	TaintEffectPreferNoSelect TaintEffect = "PreferNoSelect"
	TaintEffectNoSelectIfNew  TaintEffect = "NoSelectIfNew"
)

// Taint repels placements that do not tolerate it from the cluster.
type Taint struct {
	// key is the taint key, e.g. foo.example.com/bar.
	// +required
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MaxLength=316
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$`
	Key string `json:"key"`

	// value is the taint value.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Value string `json:"value,omitempty"`

	// effect is the effect of the taint on placements that do not tolerate it.
	// +required
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:Enum:=NoSelect;PreferNoSelect;NoSelectIfNew
	Effect TaintEffect `json:"effect"`

	// timeAdded is when the taint was added.
	// +optional
	// +nullable
	TimeAdded metav1.Time `json:"timeAdded"`
}

// ManagedClusterStatus is the state the agent reports for a managed cluster.
type ManagedClusterStatus struct {
	// conditions are the cluster's status conditions.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions"`

	// capacity is the total resource capacity of the cluster's nodes.
	// +optional
	Capacity ResourceList `json:"capacity,omitempty"`

	// allocatable is the total allocatable resources of the cluster.
	// +optional
	Allocatable ResourceList `json:"allocatable,omitempty"`

	// version is the Kubernetes version of the cluster.
	// +optional
	Version ManagedClusterVersion `json:"version,omitempty"`

	// clusterClaims are facts the managed cluster claims about itself, such as id.k8s.io.
	// +optional
	ClusterClaims []ManagedClusterClaim `json:"clusterClaims,omitempty"`

	// managedNamespaces are the namespaces the cluster's cluster sets manage on it.
	// +optional
	// +listType=map
	// +listMapKey=clusterSet
	// +listMapKey=name
	ManagedNamespaces []ClusterSetManagedNamespaceConfig `json:"managedNamespaces,omitempty"`
}

// ResourceName names a resource in a ResourceList.
type ResourceName string

// Well known resource names.
const (
	ResourceCPU    ResourceName = "cpu"
	ResourceMemory ResourceName = "memory"
)

// ResourceList maps resource names to quantities, like core/v1 ResourceList.
type ResourceList map[ResourceName]resource.Quantity

// ManagedClusterVersion is version information about a managed cluster.
type ManagedClusterVersion struct {
	// kubernetes is the Kubernetes version of the cluster.
	// +optional
	Kubernetes string `json:"kubernetes,omitempty"`
}

// ManagedClusterClaim is a ClusterClaim collected from a managed cluster.
type ManagedClusterClaim struct {
	// name is the name of the ClusterClaim on the managed cluster.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// value is the claimed value.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Value string `json:"value,omitempty"`
}

// ManagedNamespaceConfig names a namespace managed on the clusters of a cluster set.
type ManagedNamespaceConfig struct {
	// name is the name of the namespace.
	// +required
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
}

// ClusterSetManagedNamespaceConfig is a namespace a cluster set manages on this cluster.
type ClusterSetManagedNamespaceConfig struct {
	ManagedNamespaceConfig `json:",inline"`

	// clusterSet is the name of the cluster set.
	// +required
	ClusterSet string `json:"clusterSet"`

	// conditions are the status conditions of the managed namespace.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true

// ManagedClusterList is a list of ManagedClusters.
type ManagedClusterList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the managed clusters.
	Items []ManagedCluster `json:"items"`
}
