// Package v1alpha1 holds the addon.open-cluster-management.io/v1alpha1 API: ManagedClusterAddOn, the state of
// one add-on on one managed cluster.
//
// One CRD serves v1alpha1 and v1beta1 with v1alpha1 as the storage version and no conversion
// webhook, as upstream: the API server only rewrites apiVersion between them, so fields that exist
// in one version only are dropped when an object is read in the other.
//
// +kubebuilder:object:generate=true
// +groupName=addon.open-cluster-management.io
package v1alpha1
