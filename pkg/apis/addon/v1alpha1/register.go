package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// GroupName is the API group of ManagedClusterAddOn.
	GroupName = "addon.open-cluster-management.io"
	// Version is the API version of this package.
	Version = "v1alpha1"
	// ManagedClusterAddOnResource is the plural resource name used in API paths and RBAC rules.
	ManagedClusterAddOnResource = "managedclusteraddons"
	// ManagedClusterAddOnKind is the kind of a ManagedClusterAddOn object.
	ManagedClusterAddOnKind = "ManagedClusterAddOn"
)

// SchemeGroupVersion is the group version the types of this package are registered under.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: Version}

// Resource qualifies a plural resource name with this package's group.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

// AddToScheme registers ManagedClusterAddOn and ManagedClusterAddOnList with s.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &ManagedClusterAddOn{}, &ManagedClusterAddOnList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
