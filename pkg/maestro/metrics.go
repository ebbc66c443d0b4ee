package maestro

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// codeTransportError labels calls that got no HTTP response at all (Maestro unreachable,
// timeout, TLS failure).
const codeTransportError = "error"

// Metrics counts and times the REST calls of the clients it is given to. It is a
// prometheus.Collector: register it once with the registry the process exposes.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics creates unregistered REST call metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conductor_maestro_rest_requests_total",
			Help: "REST calls to Maestro by HTTP method and status code (\"error\" when no response came back).",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "conductor_maestro_rest_request_duration_seconds",
			Help:    "Latency of REST calls to Maestro by HTTP method and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "code"}),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.requests.Describe(ch)
	m.duration.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.requests.Collect(ch)
	m.duration.Collect(ch)
}

func (m *Metrics) instrument(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(req)
		code := codeTransportError
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
		}
		m.requests.WithLabelValues(req.Method, code).Inc()
		m.duration.WithLabelValues(req.Method, code).Observe(time.Since(start).Seconds())
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
