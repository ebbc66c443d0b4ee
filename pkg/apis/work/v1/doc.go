// Package v1 holds the work.open-cluster-management.io/v1 API: ManifestWork, a bundle of Kubernetes
// objects the hub asks a managed cluster's work agent to apply.
//
// +kubebuilder:object:generate=true
// +groupName=work.open-cluster-management.io
package v1
