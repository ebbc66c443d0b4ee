package consumer

import "github.com/prometheus/client_golang/prometheus"

// Reconcile results, the values of the result label of conductor_consumer_reconciles_total.
const (
	ResultSynced   = "synced"   // the consumer exists with the cluster's labels
	ResultSkipped  = "skipped"  // nothing to do: not accepted, not joined, gone, or not ours to finalize
	ResultRejected = "rejected" // Maestro will not accept the cluster's name
	ResultDeleted  = "deleted"  // the consumer is gone and the finalizer removed
	ResultBlocked  = "blocked"  // Maestro refuses the delete while resources reference the consumer
	ResultError    = "error"    // a transient failure; retried with backoff
)

// Metrics are the controller's own metrics. It is a prometheus.Collector: register it once
// with the registry the process exposes (controller-runtime's metrics.Registry).
type Metrics struct {
	reconciles    *prometheus.CounterVec
	created       prometheus.Counter
	deleted       prometheus.Counter
	labelsPatched prometheus.Counter
}

// NewMetrics creates unregistered controller metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conductor_consumer_reconciles_total",
			Help: "ManagedCluster reconciles of the consumer-controller by result.",
		}, []string{"result"}),
		created: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "conductor_consumer_consumers_created_total",
			Help: "Maestro consumers created by the consumer-controller.",
		}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "conductor_consumer_consumers_deleted_total",
			Help: "Maestro consumers deleted by the consumer-controller.",
		}),
		labelsPatched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "conductor_consumer_consumer_label_updates_total",
			Help: "Label updates the consumer-controller made to Maestro consumers.",
		}),
	}
	// Every result shows up, at zero, from the start, so rate() works on a fresh process.
	for _, result := range []string{ResultSynced, ResultSkipped, ResultRejected, ResultDeleted, ResultBlocked, ResultError} {
		m.reconciles.WithLabelValues(result)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.reconciles.Describe(ch)
	m.created.Describe(ch)
	m.deleted.Describe(ch)
	m.labelsPatched.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.reconciles.Collect(ch)
	m.created.Collect(ch)
	m.deleted.Collect(ch)
	m.labelsPatched.Collect(ch)
}
