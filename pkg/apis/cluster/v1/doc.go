// Package v1 holds the cluster.open-cluster-management.io/v1 API: ManagedCluster, the hub's record of
// a registered cluster.
//
// +kubebuilder:object:generate=true
// +groupName=cluster.open-cluster-management.io
package v1
