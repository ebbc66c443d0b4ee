package gateway

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/auth"
)

// invalidArgument reports bad agent input; the message says what is wrong.
func invalidArgument(err error) error {
	return status.Error(codes.InvalidArgument, err.Error())
}

// requestError classifies a failed NATS request. Nobody answering is Unavailable (the agent
// retries); a message NATS cannot carry is the agent's input; the caller going away is Canceled.
func requestError(err error) error {
	switch {
	case errors.Is(err, bus.ErrUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, nats.ErrMaxPayload):
		return status.Error(codes.InvalidArgument, "event too large for the bus: "+err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

// replyError turns a backend failure reply into FailedPrecondition whose message is the JSON of
// the Kubernetes StatusError, {"ErrStatus":{...}}: sdk-go clients decode it back into an API error
// so IsConflict and IsNotFound work across the wire (protocol.md 3.4).
func replyError(reply bus.Reply) error {
	statusErr := reply.Err()
	if statusErr == nil {
		return nil
	}
	msg, err := json.Marshal(statusErr)
	if err != nil {
		return status.Error(codes.Internal, "encoding backend status: "+err.Error())
	}
	return status.Error(codes.FailedPrecondition, string(msg))
}

// authError maps authorization failures: a malformed event is InvalidArgument, the rest as
// auth.StatusError says.
func authError(err error) error {
	if errors.Is(err, auth.ErrInvalidData) {
		return invalidArgument(err)
	}
	return auth.StatusError(err)
}

// resultOf names the outcome of a Publish for cloudevents_received_total.
func resultOf(err error) string {
	if err == nil {
		return resultOK
	}
	switch status.Code(err) {
	case codes.InvalidArgument:
		return resultInvalid
	case codes.PermissionDenied, codes.Unauthenticated:
		return resultDenied
	case codes.FailedPrecondition:
		return resultFailed
	case codes.Unavailable:
		return resultUnavailable
	}
	return resultError
}
