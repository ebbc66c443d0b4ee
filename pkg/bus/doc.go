// Package bus is the conductor's internal NATS bus: subjects, the CloudEvents NATS protocol
// binding, the request/reply envelope, and the request loop shared by the backend services.
// Everything on the bus is plain CloudEvents over core NATS, so any CloudEvents/NATS client can
// read it. This comment is the format reference.
//
// # Subjects
//
//	conductor.req.<backend>.<cluster>.<key>   gateway -> backend, request/reply
//	conductor.push.<cluster>.<key>            backend -> every gateway, publish/subscribe
//
// <backend> is "kube" (work-service, queue group "work-service") or "maestro" (db-service,
// queue group "db-service"). <key> is the short data-type key (e.g. "managedclusters",
// "manifestbundles"): a-z, 0-9 and inner '-'. Services subscribe to RequestWildcard
// ("conductor.req.kube.>"); gateways subscribe to exact push subjects.
//
// <cluster> is the cluster name escaped into one token: each byte outside printable ASCII
// (0x21-0x7E), and each of '.', '*', '>' and '%', is written as '%' plus two upper-case hex
// digits; all other bytes are kept. "cluster1" stays "cluster1", "prod.eu" becomes "prod%2Eeu".
// Only this canonical form is accepted when parsing, so each cluster has exactly one subject.
//
// # Events (CloudEvents NATS binding, binary mode)
//
// One event is one NATS message:
//
//   - every attribute except datacontenttype, and every extension, is a header
//     "ce-<name>" (lower case) holding the CloudEvents canonical string form: Boolean
//     "true"/"false", Integer decimal, Binary standard base64, URI and URI-reference as is,
//     Timestamp RFC 3339 in UTC with nanoseconds;
//   - datacontenttype is the "content-type" header;
//   - data is the message body, verbatim (no body: the event has no data).
//
// Two extra headers keep the encoding lossless; readers that ignore them still see a valid
// CloudEvent with string-typed extensions:
//
//   - "conductor-ce-types": "name=Type" items, comma separated and sorted, for each
//     extension whose type is not String (Type is Boolean, Integer, Binary, URI,
//     URI-reference or Timestamp). The canonical string form alone cannot tell the integer
//     resourceversion of ManifestBundles (ce_integer on the agent wire) from the string
//     resourceversion "12" of a ManagedCluster (ce_string), and agents reject the wrong one.
//     The type travels with each event rather than being derived from a per-data-type rule,
//     so the bus stays independent of the data-type registry and carries whatever the
//     producer sent.
//   - "conductor-ce-escaped": names (comma separated, sorted) of attributes or extensions
//     whose header value is percent-encoded (url.PathEscape), because NATS headers cannot
//     carry CR or LF and drop surrounding whitespace. Present only in that rare case.
//
// Readers also accept structured mode (content-type application/cloudevents+json, the event
// as the body) and header names in any letter case.
//
// # Requests and replies
//
// A request is an event message on a conductor.req subject plus the agent identity the
// gateway authenticated: "conductor-user" (one value) and "conductor-groups" (one header value
// per group), each percent-encoded with url.PathEscape.
//
// The reply body is JSON with content-type application/json:
//
//	{}                                                  OK
//	{"ownedResourceIDs":["uid1","uid2"]}                OK, answer to a spec resync request
//	{"status":{"status":"Failure","reason":"Conflict","code":409,...}}   a metav1.Status
//
// The gateway returns a failure status to the agent as gRPC FailedPrecondition with message
// {"ErrStatus":<status>}. No responders, a timeout or a lost connection surface as
// ErrUnavailable (gRPC Unavailable, the agent retries).
package bus
