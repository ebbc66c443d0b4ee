package gateway

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/auth"
)

// resyncDeletionSource is the event source of synthetic "deleted on the hub" answers, as the
// reference broker sends them (protocol.md 3.5 step 3).
const resyncDeletionSource = "source"

// backendAnswer is one backend's reply to a scattered resync request.
type backendAnswer struct {
	backend cloudevents.Backend
	reply   bus.Reply
	err     error
}

// resync scatters a spec resync request to every backend owning the data type. Each pushes what
// the agent needs and names the listed IDs it owns; the IDs nobody owns are deleted on the agent,
// but only when every backend answered.
func (g *Gateway) resync(ctx context.Context, p publishRequest, id auth.Identity) error {
	answers := g.scatter(ctx, p, id)
	owned := map[string]bool{}
	var failure error
	for _, a := range answers {
		switch {
		case a.err != nil:
			return status.Errorf(codes.Unavailable, "resync: backend %s did not answer, nothing deleted: %v", a.backend, a.err)
		case !a.reply.OK():
			failure = replyError(a.reply)
		default:
			for _, rid := range a.reply.OwnedResourceIDs {
				owned[rid] = true
			}
		}
	}
	if failure != nil {
		return failure
	}
	return g.pushDeletions(p, owned)
}

// scatter asks all owning backends at once.
func (g *Gateway) scatter(ctx context.Context, p publishRequest, id auth.Identity) []backendAnswer {
	answers := make([]backendAnswer, len(p.reg.Backends))
	var wg sync.WaitGroup
	for i, b := range p.reg.Backends {
		wg.Go(func() {
			reply, err := g.request(ctx, b, p, id)
			answers[i] = backendAnswer{backend: b, reply: reply, err: err}
		})
	}
	wg.Wait()
	return answers
}

// pushDeletions publishes, on the cluster's push subject, a deletion for each resource the agent
// listed that no backend owns. Going through the bus reaches the agent's stream on whichever
// gateway holds it.
func (g *Gateway) pushDeletions(p publishRequest, owned map[string]bool) error {
	subject, err := bus.PushSubject(p.cluster, p.reg.Key)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	seen := map[string]bool{}
	now := time.Now()
	for _, v := range p.versions.ResourceVersions {
		if owned[v.ResourceID] || seen[v.ResourceID] {
			continue
		}
		seen[v.ResourceID] = true
		evt, err := deletionEvent(p, v, now)
		if err == nil {
			err = bus.Publish(g.opts.NATS, subject, evt)
		}
		if err != nil {
			return status.Errorf(codes.Unavailable, "resync: pushing the deletion of %s: %v", v.ResourceID, err)
		}
		g.opts.Logger.Info("resync: deleting resource no backend owns", "cluster", p.cluster,
			"dataType", p.reg.DataType, "resourceID", v.ResourceID, "resourceVersion", v.ResourceVersion)
	}
	return nil
}

// deletionEvent builds the resync answer that removes one resource from the agent. It carries the
// agent's own resourceversion, because the work agent's decoder requires one even on deletions.
func deletionEvent(p publishRequest, v cloudevents.ResourceVersionEntry, now time.Time) (event.Event, error) {
	evt := event.New()
	evt.SetID(uuid.NewString())
	evt.SetSource(resyncDeletionSource)
	evt.SetType(cloudevents.EventType{DataType: p.reg.DataType, Subresource: cloudevents.SubresourceSpec,
		Action: cloudevents.ActionResyncResponse}.String())
	evt.SetTime(now)
	cloudevents.SetClusterName(&evt, p.cluster)
	cloudevents.SetResourceID(&evt, v.ResourceID)
	cloudevents.SetDeletionTimestamp(&evt, now)
	if p.reg.ResourceVersion == cloudevents.ResourceVersionInteger {
		if err := cloudevents.SetResourceVersionInt(&evt, v.ResourceVersion); err != nil {
			return event.Event{}, fmt.Errorf("resource %s: %w", v.ResourceID, err)
		}
	} else {
		cloudevents.SetResourceVersionString(&evt, strconv.FormatInt(v.ResourceVersion, 10))
	}
	return evt, nil
}
