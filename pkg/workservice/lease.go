package workservice

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice/codec"
)

// leases serves the lease agents renew to show their cluster is alive.
type leases struct{ svc *Service }

func (k *leases) handle(ctx context.Context, r request) error {
	lease := &coordinationv1.Lease{}
	if err := codec.Decode(r.event, lease); err != nil {
		return err
	}
	if err := sameCluster(r, "Lease "+lease.Name, lease.Namespace); err != nil {
		return err
	}
	if r.typ.Subresource != ce.SubresourceSpec || r.typ.Action != ce.ActionUpdateRequest {
		return unsupported(r)
	}
	// NotFound reaches the agent, which then drops its cached lease.
	_, err := k.svc.kube.CoordinationV1().Leases(lease.Namespace).Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

func (k *leases) list(ctx context.Context, cluster string) ([]event.Event, error) {
	list := &coordinationv1.LeaseList{}
	err := k.svc.cache.List(ctx, list, client.InNamespace(cluster),
		client.MatchingLabels{clusterv1.ClusterNameLabelKey: cluster})
	if err != nil {
		return nil, fmt.Errorf("listing leases from the cache: %w", err)
	}
	return encodeAll(pointers(list.Items), ce.ActionResyncResponse, k.svc.enc.Lease)
}

func (k *leases) registerPusher(ctx context.Context, reg ce.Registration) error {
	p := &pusher[*coordinationv1.Lease]{
		svc: k.svc, reg: reg, encode: k.svc.enc.Lease,
		tombstone: tombstoneWith[*coordinationv1.Lease](k.svc),
	}
	return p.register(ctx, &coordinationv1.Lease{})
}
