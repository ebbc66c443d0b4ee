package workservice

import (
	"context"

	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

// newKinds wires one handler per served data type, keyed by bus key.
func (s *Service) newKinds() map[string]kind {
	kinds := map[string]kind{}
	for _, reg := range ce.Registrations() {
		var k kind
		switch reg.DataType {
		case ce.ManagedClustersDataType:
			k = &managedClusters{svc: s}
		case ce.CertificateSigningRequestsDataType:
			k = &csrs{svc: s}
		case ce.ManagedClusterAddOnsV1alpha1DataType:
			k = newAddOnsV1alpha1(s)
		case ce.ManagedClusterAddOnsV1beta1DataType:
			k = newAddOnsV1beta1(s)
		case ce.EventsDataType:
			k = &events{svc: s}
		case ce.LeasesDataType:
			k = &leases{svc: s}
		case ce.ManifestBundlesDataType:
			k = &manifestWorks{svc: s}
		case ce.TokenRequestsDataType:
			k = &tokenRequests{svc: s, reg: reg}
		default:
			continue
		}
		kinds[reg.Key] = k
	}
	return kinds
}

// informerKind is a kind whose objects are watched and pushed.
type informerKind interface {
	registerPusher(ctx context.Context, reg ce.Registration) error
}

// registerPushers starts watching every pushed resource type; called before the cache starts so
// that the initial list is recognised as such.
func (s *Service) registerPushers(ctx context.Context) error {
	if err := s.indexWorks(ctx); err != nil {
		return err
	}
	for _, reg := range ce.Registrations() {
		k, ok := s.kinds[reg.Key].(informerKind)
		if !ok {
			continue
		}
		if err := k.registerPusher(ctx, reg); err != nil {
			return err
		}
	}
	return nil
}
