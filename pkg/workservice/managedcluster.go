package workservice

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice/codec"
)

// ClusterSetLabel assigns a ManagedCluster to a ManagedClusterSet. Only the hub sets it: agents
// cannot move their cluster into a set.
const ClusterSetLabel = "cluster.open-cluster-management.io/clusterset"

type managedClusters struct{ svc *Service }

func (k *managedClusters) handle(ctx context.Context, r request) error {
	cluster := &clusterv1.ManagedCluster{}
	if err := codec.Decode(r.event, cluster); err != nil {
		return err
	}
	if err := sameCluster(r, "ManagedCluster "+cluster.Name, cluster.Name); err != nil {
		return err
	}
	switch {
	case r.typ.Subresource == ce.SubresourceSpec && r.typ.Action == ce.ActionCreateRequest:
		delete(cluster.Labels, ClusterSetLabel)
		return k.svc.client.Create(ctx, cluster)
	case r.typ.Subresource == ce.SubresourceStatus && r.typ.Action == ce.ActionUpdateRequest:
		// The agent's resourceVersion is kept: a stale status update is a Conflict it retries.
		return k.svc.client.Status().Update(ctx, cluster)
	case r.typ.Subresource == ce.SubresourceSpec && r.typ.Action == ce.ActionUpdateRequest:
		return k.updateSpec(ctx, cluster)
	}
	return unsupported(r)
}

func (k *managedClusters) updateSpec(ctx context.Context, cluster *clusterv1.ManagedCluster) error {
	current := &clusterv1.ManagedCluster{}
	if err := k.svc.client.Get(ctx, client.ObjectKey{Name: cluster.Name}, current); err != nil {
		return err
	}
	if set, ok := current.Labels[ClusterSetLabel]; ok {
		if cluster.Labels == nil {
			cluster.Labels = map[string]string{}
		}
		cluster.Labels[ClusterSetLabel] = set
	} else {
		delete(cluster.Labels, ClusterSetLabel)
	}
	return k.svc.client.Update(ctx, cluster)
}

func (k *managedClusters) list(ctx context.Context, name string) ([]event.Event, error) {
	cluster := &clusterv1.ManagedCluster{}
	if err := k.svc.cache.Get(ctx, client.ObjectKey{Name: name}, cluster); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading ManagedCluster %s from the cache: %w", name, err)
	}
	evt, err := k.svc.enc.ManagedCluster(ce.ActionResyncResponse, cluster)
	if err != nil {
		return nil, err
	}
	return []event.Event{evt}, nil
}

// registerPusher pushes creations and every update; like the OCM hub, deletions are not pushed
// (a deleting cluster is pushed as a tombstone by its last update).
func (k *managedClusters) registerPusher(ctx context.Context, reg ce.Registration) error {
	p := &pusher[*clusterv1.ManagedCluster]{svc: k.svc, reg: reg, encode: k.svc.enc.ManagedCluster}
	return p.register(ctx, &clusterv1.ManagedCluster{})
}
