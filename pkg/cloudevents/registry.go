package cloudevents

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownBackend means an originalsource names no backend this conductor routes to.
var ErrUnknownBackend = errors.New("unknown backend")

// Backend owns the desired state of resources (design.md 1). Its value is also the event source it
// pushes with and the originalsource agents echo back.
type Backend string

// The two owners of desired state behind the conductor.
const (
	BackendKube    Backend = "kube"
	BackendMaestro Backend = "maestro"
)

// ResourceVersionFormat is how the resourceversion extension is carried for a data type.
type ResourceVersionFormat int

const (
	// ResourceVersionDecimalString: ce_string holding the Kubernetes resourceVersion, a base-10 int64.
	ResourceVersionDecimalString ResourceVersionFormat = iota
	// ResourceVersionInteger: ce_integer holding the generation (ManifestBundles).
	ResourceVersionInteger
)

// Registration describes one data type the conductor serves.
type Registration struct {
	DataType DataType
	// Key is the short, fixed token used for the data type in NATS subjects (design.md 3).
	Key string
	// Backends own resources of this type. More than one means agent status is routed by the
	// originalsource extension and spec resyncs ask every backend.
	Backends []Backend
	// ResourceVersion says how the resourceversion extension is typed on the wire.
	ResourceVersion ResourceVersionFormat
}

// Registrations returns the eight served data types (protocol.md 2.2) in a fresh slice.
func Registrations() []Registration {
	kube := func(dt DataType, key string) Registration {
		return Registration{DataType: dt, Key: key, Backends: []Backend{BackendKube}}
	}
	return []Registration{
		kube(ManagedClustersDataType, "managedclusters"),
		kube(CertificateSigningRequestsDataType, "csrs"),
		kube(LeasesDataType, "leases"),
		kube(EventsDataType, "events"),
		kube(ManagedClusterAddOnsV1alpha1DataType, "addons-v1alpha1"),
		kube(ManagedClusterAddOnsV1beta1DataType, "addons-v1beta1"),
		{
			DataType:        ManifestBundlesDataType,
			Key:             "manifestbundles",
			Backends:        []Backend{BackendKube, BackendMaestro},
			ResourceVersion: ResourceVersionInteger,
		},
		kube(TokenRequestsDataType, "tokenrequests"),
	}
}

// Lookup finds the registration of a served data type.
func Lookup(dt DataType) (Registration, bool) {
	return find(func(r Registration) bool { return r.DataType == dt })
}

// LookupString finds the registration of a data type given as a string, e.g. a
// SubscriptionRequest's data_type.
func LookupString(dataType string) (Registration, bool) {
	return Lookup(DataType(dataType))
}

// LookupKey finds the registration for a NATS subject key.
func LookupKey(key string) (Registration, bool) {
	return find(func(r Registration) bool { return r.Key == key })
}

func find(match func(Registration) bool) (Registration, bool) {
	for _, r := range Registrations() {
		if match(r) {
			return r, true
		}
	}
	return Registration{}, false
}

// BackendFor picks the backend that handles an agent event of this data type. Single-backend types
// ignore originalSource. Otherwise originalSource must be a backend name or start with "<backend>::"
// (the reference conductor's broker-internal ids); anything else wraps ErrUnknownBackend.
func (r Registration) BackendFor(originalSource string) (Backend, error) {
	if len(r.Backends) == 1 {
		return r.Backends[0], nil
	}
	for _, b := range r.Backends {
		if originalSource == string(b) || strings.HasPrefix(originalSource, string(b)+"::") {
			return b, nil
		}
	}
	return "", fmt.Errorf("%w: originalsource %q for %s", ErrUnknownBackend, originalSource, r.DataType)
}
