package cloudevents

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// ErrInvalidType is wrapped by every error from ParseDataType and ParseEventType.
var ErrInvalidType = errors.New("invalid cloudevents type")

// HeartbeatType is the type of the heartbeat pushed on Subscribe streams. It is not an EventType:
// it has no data type, subresource or action.
const HeartbeatType = "io.open-cluster-management.cloudevents.heartbeat"

// DataType is "<group>.<version>.<resource>". The group may itself contain dots.
type DataType string

// The data types the OCM gRPC server registers (protocol.md 2.2).
const (
	ManagedClustersDataType              DataType = "cluster.open-cluster-management.io.v1.managedclusters"
	CertificateSigningRequestsDataType   DataType = "certificates.k8s.io.v1.certificatesigningrequests"
	ManagedClusterAddOnsV1alpha1DataType DataType = "addon.open-cluster-management.io.v1alpha1.managedclusteraddons"
	ManagedClusterAddOnsV1beta1DataType  DataType = "addon.open-cluster-management.io.v1beta1.managedclusteraddons"
	EventsDataType                       DataType = "events.k8s.io.v1.events"
	LeasesDataType                       DataType = "coordination.k8s.io.v1.leases"
	ManifestBundlesDataType              DataType = "io.open-cluster-management.works.v1alpha1.manifestbundles"
	TokenRequestsDataType                DataType = "authentication.k8s.io.v1.tokenrequests"
)

// ParseDataType checks that s has a non-empty group, version and resource.
func ParseDataType(s string) (DataType, error) {
	tokens := strings.Split(s, ".")
	if len(tokens) < 3 {
		return "", fmt.Errorf("%w: data type %q needs <group>.<version>.<resource>", ErrInvalidType, s)
	}
	if err := checkTokens(s, tokens); err != nil {
		return "", err
	}
	return DataType(s), nil
}

// Group is everything before the last two tokens ("" if d is malformed).
func (d DataType) Group() string {
	i := d.versionDot()
	if i < 0 {
		return ""
	}
	return string(d[:i])
}

// Version is the second-last token ("" if d is malformed).
func (d DataType) Version() string {
	i, j := d.versionDot(), d.resourceDot()
	if i < 0 {
		return ""
	}
	return string(d[i+1 : j])
}

// Resource is the last token ("" if d is malformed).
func (d DataType) Resource() string {
	if d.versionDot() < 0 {
		return ""
	}
	return string(d[d.resourceDot()+1:])
}

func (d DataType) String() string { return string(d) }

func (d DataType) resourceDot() int { return strings.LastIndexByte(string(d), '.') }

func (d DataType) versionDot() int {
	j := d.resourceDot()
	if j < 0 {
		return -1
	}
	return strings.LastIndexByte(string(d[:j]), '.')
}

// Subresource says which half of an object an event concerns.
type Subresource string

const (
	// SubresourceSpec is desired state: source -> agent, plus agent-originated creates and updates.
	SubresourceSpec Subresource = "spec"
	// SubresourceStatus is agent -> source status reports and status resyncs.
	SubresourceStatus Subresource = "status"
)

// Action is the last token of an event type.
type Action string

// The actions that appear on the wire (protocol.md 2.1).
const (
	ActionCreateRequest  Action = "create_request"
	ActionUpdateRequest  Action = "update_request"
	ActionDeleteRequest  Action = "delete_request"
	ActionResyncRequest  Action = "resync_request"
	ActionResyncResponse Action = "resync_response"
	// ActionWatchRequest names Subscribe for authorization. It never appears on the wire, so
	// ParseEventType rejects it.
	ActionWatchRequest Action = "watch_request"
)

func (a Action) onWire() bool {
	switch a {
	case ActionCreateRequest, ActionUpdateRequest, ActionDeleteRequest, ActionResyncRequest, ActionResyncResponse:
		return true
	}
	return false
}

// EventType is "<data type>.<subresource>.<action>".
type EventType struct {
	DataType    DataType
	Subresource Subresource
	Action      Action
}

func (t EventType) String() string {
	return string(t.DataType) + "." + string(t.Subresource) + "." + string(t.Action)
}

// ParseEventType parses from the right, so the group may contain dots.
func ParseEventType(s string) (EventType, error) {
	tokens := strings.Split(s, ".")
	n := len(tokens)
	if n < 5 {
		return EventType{}, fmt.Errorf("%w: event type %q needs <group>.<version>.<resource>.<subresource>.<action>", ErrInvalidType, s)
	}
	if err := checkTokens(s, tokens); err != nil {
		return EventType{}, err
	}
	sub := Subresource(tokens[n-2])
	if sub != SubresourceSpec && sub != SubresourceStatus {
		return EventType{}, fmt.Errorf("%w: event type %q: unsupported subresource %q", ErrInvalidType, s, sub)
	}
	act := Action(tokens[n-1])
	if !act.onWire() {
		return EventType{}, fmt.Errorf("%w: event type %q: unsupported action %q", ErrInvalidType, s, act)
	}
	return EventType{
		DataType:    DataType(strings.Join(tokens[:n-2], ".")),
		Subresource: sub,
		Action:      act,
	}, nil
}

// EventTypeOf parses the type of e.
func EventTypeOf(e event.Event) (EventType, error) {
	return ParseEventType(e.Type())
}

func checkTokens(s string, tokens []string) error {
	for _, t := range tokens {
		if t == "" {
			return fmt.Errorf("%w: %q has an empty token", ErrInvalidType, s)
		}
	}
	return nil
}
