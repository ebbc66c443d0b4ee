// Package process holds what every conductor binary does around its component, so each
// cmd/<name>/main.go stays a few lines: flag parsing with an optional YAML config file, --version,
// structured logging, the operations HTTP server (/healthz, /readyz, /metrics) and a context that
// ends on SIGTERM or SIGINT.
//
// Liveness (/healthz) never looks at dependencies: restarting a process because NATS or PostgreSQL
// is away would not bring them back. Readiness (/readyz) runs the component's checks.
package process
