// Package agent is a simulated klusterlet: it speaks the agent side of the OCM CloudEvents-over-gRPC
// protocol (protocol.md) through our own stubs, the way the real sdk-go agents do, without a managed
// cluster behind it. The e2e suite, `make run` and the load generator use it.
//
// Stream is the transport every simulated agent shares: Subscribe, wait for the subscription-id
// header, send the spec resync request, then receive; on any error reconnect with backoff and
// resync again, as the real clients do. WorkAgent keeps an in-memory view of its ManifestWorks and
// reports their status (Applied/Available, sequenceid, statushash, originalsource echoed) and the
// Deleted condition when a work is deleted.
package agent
