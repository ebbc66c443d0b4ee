package workservice

import (
	"context"
	"log/slog"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice/codec"
)

// resync answers a spec resync request (protocol.md 3.5): it pushes the objects the agent lacks or
// has an older version of, and replies with the agent's IDs that exist here. Deletions of the
// other IDs are the gateway's job, since another backend may own them.
func (s *Service) resync(ctx context.Context, r request) bus.Reply {
	agentList, err := codec.DecodeResyncRequest(r.event)
	if err != nil {
		return replyError(err)
	}
	current, err := s.kinds[r.reg.Key].list(ctx, r.cluster)
	if err != nil {
		return replyError(err)
	}
	agentVersions := make(map[string]int64, len(agentList.ResourceVersions))
	for _, entry := range agentList.ResourceVersions {
		agentVersions[entry.ResourceID] = entry.ResourceVersion
	}
	var owned []string
	for _, evt := range current {
		id, _ := ce.ResourceID(evt)
		if _, listed := agentVersions[id]; listed && id != "" {
			owned = append(owned, id)
		}
		if !s.agentNeeds(r.reg, evt, agentVersions[id]) {
			continue
		}
		// Push failures are only logged: the agent resyncs again after its next reconnect.
		s.push(r.reg, evt)
	}
	return bus.ReplyOwned(owned)
}

// agentNeeds reports whether the agent, holding version last (0 when absent), must get evt.
func (s *Service) agentNeeds(reg ce.Registration, evt event.Event, last int64) bool {
	if ce.HasExtension(evt, ce.ExtDeletionTimestamp) {
		return true
	}
	cur, err := ce.ResourceVersionNumber(evt, reg.ResourceVersion)
	if err != nil {
		s.log.Warn("resync: skipping an object whose resourceversion cannot be read",
			slog.String("dataType", string(reg.DataType)), slog.String("eventID", evt.ID()), slog.Any("error", err))
		return false
	}
	return cur == 0 || cur > last
}
