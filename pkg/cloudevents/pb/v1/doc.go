// Package pbv1 holds the generated Go types and gRPC stubs for io.cloudevents.v1.CloudEventService,
// the wire protocol OCM agents and sources speak (protocol.md section 1).
//
// Regenerate with `go generate ./pkg/cloudevents/...` (see generate.sh for the tools it needs).
package pbv1

//go:generate ./generate.sh
