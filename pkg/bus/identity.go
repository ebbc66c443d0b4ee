package bus

import (
	"fmt"
	"net/url"

	"github.com/nats-io/nats.go"
)

// Request headers carrying the authenticated agent identity (set by the gateway only).
const (
	HeaderUser   = "conductor-user"
	HeaderGroups = "conductor-groups" // one header value per group
)

// Identity is the agent identity the gateway authenticated (TokenReview or mTLS).
type Identity struct {
	User   string
	Groups []string
}

// writeTo sets the identity headers. Values are always percent-encoded (url.PathEscape), so
// any user or group name survives NATS header rules; usual names such as
// "system:serviceaccount:ns:sa" are unchanged by it.
func (id Identity) writeTo(h nats.Header) {
	h.Del(HeaderUser)
	h.Del(HeaderGroups)
	if id.User != "" {
		h.Set(HeaderUser, url.PathEscape(id.User))
	}
	for _, g := range id.Groups {
		h.Add(HeaderGroups, url.PathEscape(g))
	}
}

// identityFromHeader reads the identity headers; absent headers give an empty identity.
func identityFromHeader(h nats.Header) (Identity, error) {
	var id Identity
	if users := h.Values(HeaderUser); len(users) > 1 {
		return Identity{}, fmt.Errorf("bus: header %s must have one value", HeaderUser)
	}
	user, err := url.PathUnescape(h.Get(HeaderUser))
	if err != nil {
		return Identity{}, fmt.Errorf("bus: header %s: %w", HeaderUser, err)
	}
	id.User = user
	for _, g := range h.Values(HeaderGroups) {
		group, err := url.PathUnescape(g)
		if err != nil {
			return Identity{}, fmt.Errorf("bus: header %s: %w", HeaderGroups, err)
		}
		id.Groups = append(id.Groups, group)
	}
	return id, nil
}
