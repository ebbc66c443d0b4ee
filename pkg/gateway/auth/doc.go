// Package auth authenticates agents and authorizes their requests the way the OCM gRPC server
// does (protocol.md 5.1 and 5.2).
//
// Authentication runs in gRPC interceptors before any handler: a Chain tries a bearer token
// (Kubernetes TokenReview) and then the verified client certificate (CN is the user, O the
// groups); the first success wins and its Identity goes into the request context. Handlers read
// it back with IdentityFrom.
//
// Authorization needs the decoded request (cluster, event type, object name), so handlers call an
// Authorizer themselves with the Attributes that PublishAttributes and SubscribeAttributes derive
// from it. SARAuthorizer asks the kube-apiserver with a SubjectAccessReview.
//
// Both API calls are cached in bounded LRU caches with short TTLs (tokens 2 min, allowed 5 min,
// denied 30 s by default), so steady agent traffic costs no API calls. Failures to reach the
// kube-apiserver are never cached and surface as ErrUnavailable, which the gateway turns into
// gRPC Unavailable so agents retry instead of treating themselves as rejected.
package auth
