package gateway

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
)

// publishRequest is a Publish that passed validation.
type publishRequest struct {
	event   event.Event
	typ     cloudevents.EventType
	reg     cloudevents.Registration
	cluster string
	// versions is the agent's cache, set for spec resync requests only.
	versions *cloudevents.ResourceVersionList
}

// headerOverhead approximates the NATS protocol bytes around each header and the message.
const (
	headerOverhead  = 16
	messageOverhead = 256
)

// parsePublish decodes and validates a PublishRequest. Every error is the agent's fault and says
// what is wrong. maxBytes is the largest event the bus carries.
func parsePublish(req *pbv1.PublishRequest, maxBytes int64) (publishRequest, error) {
	if req.GetEvent() == nil {
		return publishRequest{}, errors.New("publish request has no event")
	}
	evt, err := cloudevents.FromProto(req.GetEvent())
	if err != nil {
		return publishRequest{}, err
	}
	// The bus refuses what CloudEvents forbids (no id, no source); say so before routing.
	if err := evt.Validate(); err != nil {
		return publishRequest{}, fmt.Errorf("invalid cloudevent: %w", err)
	}
	p := publishRequest{event: evt}
	if p.typ, err = cloudevents.EventTypeOf(evt); err != nil {
		return publishRequest{}, err
	}
	reg, ok := cloudevents.Lookup(p.typ.DataType)
	if !ok {
		return publishRequest{}, fmt.Errorf("data type %q is not served", p.typ.DataType)
	}
	p.reg = reg
	if p.cluster, err = cloudevents.ClusterName(evt); err != nil {
		return publishRequest{}, fmt.Errorf("ce-clustername is required: %w", err)
	}
	if p.cluster == "" {
		return publishRequest{}, errors.New("ce-clustername is required: empty")
	}
	if err := checkExtensions(evt, reg); err != nil {
		return publishRequest{}, err
	}
	if size := encodedSize(evt); int64(size) > maxBytes {
		return publishRequest{}, fmt.Errorf("event of about %d bytes exceeds the limit of %d bytes", size, maxBytes)
	}
	if p.typ.Action == cloudevents.ActionResyncRequest {
		if p.typ.Subresource != cloudevents.SubresourceSpec {
			return publishRequest{}, fmt.Errorf("%s: only spec resync requests are served", p.typ)
		}
		if p.versions, err = resyncVersions(evt); err != nil {
			return publishRequest{}, err
		}
	}
	return p, nil
}

// extensionReaders read the OCM extensions with their wire types checked, as receivers would.
var extensionReaders = []func(event.Event, cloudevents.Registration) error{
	func(e event.Event, _ cloudevents.Registration) error { _, err := cloudevents.ResourceID(e); return err },
	func(e event.Event, _ cloudevents.Registration) error {
		_, err := cloudevents.OriginalSource(e)
		return err
	},
	func(e event.Event, _ cloudevents.Registration) error { _, err := cloudevents.SequenceID(e); return err },
	func(e event.Event, _ cloudevents.Registration) error { _, err := cloudevents.StatusHash(e); return err },
	func(e event.Event, _ cloudevents.Registration) error { _, err := cloudevents.Metadata(e); return err },
	func(e event.Event, _ cloudevents.Registration) error { _, err := cloudevents.LogTracing(e); return err },
	func(e event.Event, _ cloudevents.Registration) error {
		_, err := cloudevents.DeletionTimestamp(e)
		return err
	},
	func(e event.Event, r cloudevents.Registration) error {
		_, err := cloudevents.ResourceVersionNumber(e, r.ResourceVersion)
		return err
	},
}

// checkExtensions rejects OCM extensions present with a type or form agents and services reject.
func checkExtensions(e event.Event, reg cloudevents.Registration) error {
	for _, read := range extensionReaders {
		if err := read(e, reg); err != nil && !errors.Is(err, cloudevents.ErrMissingExtension) {
			return err
		}
	}
	return nil
}

// resyncVersions reads the agent's cache listing from a spec resync request.
func resyncVersions(e event.Event) (*cloudevents.ResourceVersionList, error) {
	if len(e.Data()) == 0 {
		return nil, errors.New("spec resync request has no data (want {\"resourceVersions\":[...]})")
	}
	var list cloudevents.ResourceVersionList
	if err := json.Unmarshal(e.Data(), &list); err != nil {
		return nil, fmt.Errorf("spec resync request data: %w", err)
	}
	for i, v := range list.ResourceVersions {
		if v.ResourceID == "" {
			return nil, fmt.Errorf("spec resync request data: resourceVersions[%d] has no resourceID", i)
		}
	}
	return &list, nil
}

// encodedSize estimates the NATS message the event becomes: data plus one header per attribute.
func encodedSize(e event.Event) int {
	n := messageOverhead + len(e.Data())
	for _, s := range []string{e.ID(), e.Source(), e.Type(), e.DataContentType(), e.Subject(), e.DataSchema()} {
		n += len(s) + headerOverhead
	}
	for name, v := range e.Extensions() {
		s, _ := types.Format(v)
		n += len(name) + len(s) + headerOverhead
	}
	return n
}
