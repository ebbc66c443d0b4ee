package cloudevents

import (
	"github.com/google/uuid"

	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
)

// NewHeartbeat builds the heartbeat pushed on Subscribe streams (protocol.md 3.3): a fresh uuid,
// spec version 1.0 and HeartbeatType, nothing else. Clients filter it out before decoding, so it
// deliberately has no attributes (FromProto would reject it).
func NewHeartbeat() *pbv1.CloudEvent {
	return &pbv1.CloudEvent{Id: uuid.NewString(), SpecVersion: SpecVersion, Type: HeartbeatType}
}

// IsHeartbeat reports whether msg is a heartbeat rather than an event.
func IsHeartbeat(msg *pbv1.CloudEvent) bool {
	return msg.GetType() == HeartbeatType
}
