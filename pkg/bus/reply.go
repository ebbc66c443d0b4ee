package bus

import (
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReplyContentType is the content type of reply bodies.
const ReplyContentType = "application/json"

// Reply is a backend's answer to a request. It is OK when Status is nil (or a Success status);
// otherwise Status is the Kubernetes status the gateway returns to the agent as
// FailedPrecondition with {"ErrStatus": Status}.
//
// Wire form (JSON body): {"status":{...metav1.Status...},"ownedResourceIDs":["..."]},
// both fields optional; {} is OK.
type Reply struct {
	Status *metav1.Status `json:"status,omitempty"`
	// OwnedResourceIDs answers a spec resync request: the IDs from the agent's list that this
	// backend owns (the gateway deletes on the agent only IDs no backend owns).
	OwnedResourceIDs []string `json:"ownedResourceIDs,omitempty"`
}

// ReplyOK is a success.
func ReplyOK() Reply { return Reply{} }

// ReplyOwned is a successful resync answer listing the agent's resource IDs the backend owns.
func ReplyOwned(ids []string) Reply { return Reply{OwnedResourceIDs: ids} }

// ReplyStatus carries status; a nil status is OK.
func ReplyStatus(status *metav1.Status) Reply { return Reply{Status: status} }

// ReplyError turns err into a reply: nil is OK, Kubernetes API errors keep their status,
// anything else becomes an InternalError (500).
func ReplyError(err error) Reply {
	if err == nil {
		return ReplyOK()
	}
	var apiStatus apierrors.APIStatus
	if errors.As(err, &apiStatus) {
		status := apiStatus.Status()
		return Reply{Status: &status}
	}
	return Reply{Status: &apierrors.NewInternalError(err).ErrStatus}
}

// replyBadRequest answers a message the bus could not decode.
func replyBadRequest(err error) Reply {
	return Reply{Status: &apierrors.NewBadRequest(err.Error()).ErrStatus}
}

// OK reports whether the backend succeeded.
func (r Reply) OK() bool {
	return r.Status == nil || r.Status.Status == metav1.StatusSuccess
}

// Err is nil for OK, otherwise a *apierrors.StatusError carrying the status, so
// apierrors.IsConflict and friends work, and json.Marshal gives {"ErrStatus":{...}}.
func (r Reply) Err() error {
	if r.OK() {
		return nil
	}
	return &apierrors.StatusError{ErrStatus: *r.Status}
}

// StatusFromReply is the failure status of r, or nil when r is OK.
func StatusFromReply(r Reply) *metav1.Status {
	if r.OK() {
		return nil
	}
	return r.Status
}

// EncodeReply renders the reply body.
func EncodeReply(r Reply) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("bus: encode reply: %w", err)
	}
	return b, nil
}

// DecodeReply parses a reply body. An empty body is an error: every reply is a JSON object.
func DecodeReply(body []byte) (Reply, error) {
	if len(body) == 0 {
		return Reply{}, errors.New("bus: empty reply")
	}
	var r Reply
	if err := json.Unmarshal(body, &r); err != nil {
		return Reply{}, fmt.Errorf("bus: decode reply: %w", err)
	}
	return r, nil
}
