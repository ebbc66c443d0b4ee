package workservice

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
)

const metricsNamespace = "conductor_work_service"

type metrics struct {
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	pushes          *prometheus.CounterVec
	informerLag     *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace,
			Name:      "requests_total",
			Help:      "Agent requests handled, by data type key, subresource.action and result (OK or the Kubernetes status reason).",
		}, []string{"data_type", "action", "result"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace,
			Name:      "request_duration_seconds",
			Help:      "Time to handle an agent request, including the Kubernetes API calls.",
			Buckets:   prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"data_type", "action"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace,
			Name:      "pushes_total",
			Help:      "Spec events published to the bus, by data type key, action and result (ok or error).",
		}, []string{"data_type", "action", "result"}),
		informerLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace,
			Name:      "informer_lag_seconds",
			Help:      "Time from an object's last write (its newest managed-fields entry, second precision) to its informer notification.",
			Buckets:   []float64{0.5, 1, 2, 5, 10, 30, 60, 300},
		}, []string{"data_type"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.requestDuration, m.pushes, m.informerLag} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("workservice: registering metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observeRequest(key, action string, reply bus.Reply, took time.Duration) {
	m.requests.WithLabelValues(key, action, reasonOf(reply)).Inc()
	m.requestDuration.WithLabelValues(key, action).Observe(took.Seconds())
}

func (m *metrics) observePush(key, action string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.pushes.WithLabelValues(key, action, result).Inc()
}

func (m *metrics) observeLag(key string, obj client.Object) {
	if written := lastWrite(obj); !written.IsZero() {
		m.informerLag.WithLabelValues(key).Observe(time.Since(written).Seconds())
	}
}
