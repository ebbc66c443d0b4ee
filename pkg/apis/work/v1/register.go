package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// GroupName is the API group of ManifestWork.
	GroupName = "work.open-cluster-management.io"
	// Version is the only served version of ManifestWork.
	Version = "v1"
	// ManifestWorkResource is the plural resource name used in API paths and RBAC rules.
	ManifestWorkResource = "manifestworks"
	// ManifestWorkKind is the kind of a ManifestWork object.
	ManifestWorkKind = "ManifestWork"
)

// SchemeGroupVersion is the group version the types of this package are registered under.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: Version}

// Resource qualifies a plural resource name with this package's group.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

// AddToScheme registers ManifestWork and ManifestWorkList with s.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &ManifestWork{}, &ManifestWorkList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
