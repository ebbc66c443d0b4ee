package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// GroupName is the API group of ManagedCluster.
	GroupName = "cluster.open-cluster-management.io"
	// Version is the only served version of this group's ManagedCluster.
	Version = "v1"
	// ManagedClusterResource is the plural resource name used in API paths and RBAC rules.
	ManagedClusterResource = "managedclusters"
	// ManagedClusterKind is the kind of a ManagedCluster object.
	ManagedClusterKind = "ManagedCluster"
)

// SchemeGroupVersion is the group version the types of this package are registered under.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: Version}

// Resource qualifies a plural resource name with this package's group.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

// AddToScheme registers ManagedCluster and ManagedClusterList with s.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &ManagedCluster{}, &ManagedClusterList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
