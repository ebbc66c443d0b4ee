package gateway

import (
	"errors"
	"fmt"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/fanout"
)

// Label values for requests whose data type or action is not a known one, so that malformed
// input cannot grow the label sets.
const unknownLabel = "unknown"

// Results of Publish in cloudevents_received_total.
const (
	resultOK          = "ok"
	resultInvalid     = "invalid"
	resultDenied      = "denied"
	resultFailed      = "failed" // the backend answered with a failure status
	resultUnavailable = "unavailable"
	resultError       = "error"
)

// metrics are the gateway's Prometheus collectors. Names follow the families OCM and Maestro
// dashboards use (grpc_server_*, cloudevents_*) plus conductor_gateway_* for the rest.
type metrics struct {
	grpc           *grpcprom.ServerMetrics
	received       *prometheus.CounterVec
	sent           *prometheus.CounterVec
	streams        *prometheus.GaugeVec
	streamsEnded   *prometheus.CounterVec
	pushedDropped  *prometheus.CounterVec
	requestLatency *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		grpc: grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram()),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudevents_received_total",
			Help: "CloudEvents published by agents, by data type, action and result (ok, invalid, denied, failed, unavailable, error).",
		}, []string{"data_type", "action", "result"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudevents_sent_total",
			Help: "Pushed CloudEvents offered to agent streams, by data type and result (queued, duplicate, overflow).",
		}, []string{"data_type", "result"}),
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cloudevents_subscribers",
			Help: "Connected Subscribe streams by data type.",
		}, []string{"data_type"}),
		streamsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conductor_gateway_streams_ended_total",
			Help: "Subscribe streams ended by the gateway, by data type and reason (slow, events_lost, shutdown).",
		}, []string{"data_type", "reason"}),
		pushedDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conductor_gateway_pushed_dropped_total",
			Help: "Pushed NATS messages dropped before reaching any stream, by reason.",
		}, []string{"reason"}),
		requestLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "conductor_gateway_nats_request_duration_seconds",
			Help:    "Latency of NATS requests to the backends, by backend, data type and result.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"backend", "data_type", "result"}),
	}
	for _, c := range []prometheus.Collector{m.grpc, m.received, m.sent, m.streams, m.streamsEnded, m.pushedDropped, m.requestLatency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("gateway: registering metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observeRequest(backend cloudevents.Backend, dt cloudevents.DataType, result string, start time.Time) {
	m.requestLatency.WithLabelValues(string(backend), string(dt), result).Observe(time.Since(start).Seconds())
}

// EventOffered implements fanout.Observer.
func (m *metrics) EventOffered(dt cloudevents.DataType, outcome string) {
	m.sent.WithLabelValues(string(dt), outcome).Inc()
}

// EventDropped implements fanout.Observer.
func (m *metrics) EventDropped(_ string, reason string) {
	m.pushedDropped.WithLabelValues(reason).Inc()
}

// SubscriberEnded implements fanout.Observer.
func (m *metrics) SubscriberEnded(dt cloudevents.DataType, reason error) {
	m.streamsEnded.WithLabelValues(string(dt), endReason(reason)).Inc()
}

func endReason(err error) string {
	switch {
	case errors.Is(err, fanout.ErrSlowSubscriber):
		return "slow"
	case errors.Is(err, fanout.ErrEventsLost):
		return "events_lost"
	case errors.Is(err, fanout.ErrHubClosed):
		return "shutdown"
	}
	return "other"
}

// typeLabels bounds the data type and action labels to known values.
func typeLabels(et cloudevents.EventType, known bool) (string, string) {
	if !known {
		return unknownLabel, unknownLabel
	}
	return string(et.DataType), string(et.Action)
}
