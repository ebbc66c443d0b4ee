// Package gateway is the agent-facing edge of the conductor: it serves
// io.cloudevents.v1.CloudEventService (protocol.md 1) to unmodified klusterlet agents and relays
// between them and the backends over NATS (design.md 2-4).
//
// Publish: decode and validate the event (InvalidArgument, nothing forwarded), authorize it with
// a SubjectAccessReview (PermissionDenied), route it to a backend (registration types and token
// requests to kube; ManifestBundle status by originalsource), send a NATS request carrying the
// agent identity, and map the reply: OK, a backend status as FailedPrecondition with
// {"ErrStatus":<metav1.Status>} (protocol.md 3.4), Unavailable when no backend answered.
//
// Spec resync (protocol.md 3.5): the request goes to every backend owning the data type at once.
// Each pushes what the agent needs and replies with the IDs from the agent's list it owns; the
// gateway then pushes a deletion (with the agent's resourceversion, source "source") for each
// listed ID that no backend owns. If any backend fails to answer, nothing is deleted and the
// agent gets Unavailable: a backend outage must never delete workloads.
//
// Subscribe: authorize (watch; subscribe for token requests) before anything else, register with
// the fanout hub (its NATS subscription is flushed), send the subscription-id header, then stream
// pushed events and a heartbeat every HeartbeatInterval. Like etcd's watch server, one goroutine
// sends while the handler watches for the end: a stream that falls behind, the loss of the NATS
// connection and shutdown end it with Unavailable, the status agents answer by reconnecting and
// resyncing.
package gateway
