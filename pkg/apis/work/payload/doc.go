// Package payload holds the CloudEvent data of the manifestbundles data type: ManifestBundle, the
// spec of a ManifestWork as sent to work agents, and ManifestBundleStatus, the status they send back.
// They are wire types only, never stored as Kubernetes objects.
//
// +kubebuilder:object:generate=true
package payload
