// Package consumer is the consumer-controller: it gives every ManagedCluster that is
// accepted (spec.hubAcceptsClient) and joined (condition ManagedClusterJoined True) a Maestro
// consumer of the same name, through Maestro's REST API.
//
// The consumer's labels follow the cluster's labels, optionally only those whose keys start
// with one of the configured prefixes. A finalizer on the ManagedCluster deletes the consumer
// when the cluster is deleted. Maestro refuses that (403) while resource bundles still
// reference the consumer; the controller then reports why in a Kubernetes Event and in the
// cluster's MaestroConsumerSynced condition and retries with backoff until Maestro agrees.
//
// Transient failures (Maestro unreachable, 5xx, API conflicts) are retried through the
// controller's work queue with exponential backoff, from seconds up to minutes. A cluster
// name Maestro will never accept (it wants an RFC 1123 label, Kubernetes allows dots) is
// reported as an Event and a condition, and tried again only when the cluster changes.
//
// The controller is meant to run with leader election: one active replica, any number of
// standbys. NewManager wires it into a controller-runtime manager with metrics, health
// probes and leader election.
package consumer
