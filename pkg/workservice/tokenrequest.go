package workservice

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice/codec"
)

// tokenRequests issues ServiceAccount tokens to agents (add-on token authentication). The answer
// is pushed, not replied: the agent waits on its tokenrequests stream for an event carrying its
// request id.
type tokenRequests struct {
	svc *Service
	reg ce.Registration
}

func (k *tokenRequests) handle(ctx context.Context, r request) error {
	req := &authenticationv1.TokenRequest{}
	if err := codec.Decode(r.event, req); err != nil {
		return err
	}
	if err := sameCluster(r, "TokenRequest for ServiceAccount "+req.Name, req.Namespace); err != nil {
		return err
	}
	if r.typ.Subresource != ce.SubresourceSpec || r.typ.Action != ce.ActionCreateRequest {
		return unsupported(r)
	}
	requestID := string(req.UID)
	req.UID = ""
	resp, err := k.svc.kube.CoreV1().ServiceAccounts(req.Namespace).CreateToken(ctx, req.Name, req, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	evt, err := k.svc.enc.TokenResponse(resp, requestID)
	if err != nil {
		return err
	}
	if err := k.svc.publish(k.reg, evt); err != nil {
		k.svc.metrics.observePush(k.reg.Key, string(ce.ActionCreateRequest), err)
		return fmt.Errorf("pushing the token for %s/%s: %w", req.Namespace, req.Name, err)
	}
	k.svc.metrics.observePush(k.reg.Key, string(ce.ActionCreateRequest), nil)
	return nil
}

// list owns nothing: tokens are never resynced.
func (k *tokenRequests) list(context.Context, string) ([]event.Event, error) {
	return nil, nil
}
