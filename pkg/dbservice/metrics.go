package dbservice

import "github.com/prometheus/client_golang/prometheus"

// metrics are the db-service's conductor-specific Prometheus series.
type metrics struct {
	statusWrites       *prometheus.CounterVec
	specPushed         *prometheus.CounterVec
	notifyToPush       prometheus.Histogram
	listenerReconnects prometheus.Counter
	unreconciled       prometheus.Gauge
	scans              prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		statusWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conductor_dbservice_status_writes_total",
			Help: "Agent status updates handled, by result: accepted, stale (old version or sequence id), duplicate, deleted (Deleted=True), missing (no such resource) or error.",
		}, []string{"result"}),
		specPushed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conductor_dbservice_spec_events_pushed_total",
			Help: "Spec events pushed to agents, by action (create_request, update_request, delete_request, resync_response).",
		}, []string{"action"}),
		notifyToPush: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "conductor_dbservice_notify_to_push_seconds",
			Help:    "Time from a NOTIFY on channel events to the spec event being pushed.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		listenerReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "conductor_dbservice_listener_reconnects_total",
			Help: "Times the LISTEN connection was re-established after it was lost.",
		}),
		unreconciled: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "conductor_dbservice_unreconciled_events",
			Help: "Unreconciled rows in the events table found by the last scan.",
		}),
		scans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "conductor_dbservice_event_scans_total",
			Help: "Completed scans for unreconciled events (at start-up, after listener reconnects, periodic).",
		}),
	}
	for _, result := range []string{"accepted", "stale", "duplicate", "deleted", "missing", "error"} {
		m.statusWrites.WithLabelValues(result)
	}
	for _, c := range []prometheus.Collector{m.statusWrites, m.specPushed, m.notifyToPush, m.listenerReconnects, m.unreconciled, m.scans} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
