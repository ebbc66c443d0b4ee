package gateway_test

import (
	"context"
	"fmt"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/gateway"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

// metricValue sums the samples of family name whose labels include want.
func metricValue(t *testing.T, gw *runningGateway, name string, want map[string]string) (float64, bool) {
	t.Helper()
	families, err := gw.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total, found := 0.0, false
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !hasLabels(m, want) {
				continue
			}
			found = true
			switch {
			case m.GetCounter() != nil:
				total += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				total += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return total, found
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func TestMetrics(t *testing.T) {
	tb := newTestbed(t)
	tb.respond(bus.BackendKube, nil)
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	if _, err := c.Publish(ctxTimeout(t), loadPublish(t, "agent-lease-spec-update-request")); err != nil {
		t.Fatal(err)
	}
	bad := loadPublish(t, "agent-lease-spec-update-request")
	bad.Event.Type = "nonsense"
	if _, err := c.Publish(ctxTimeout(t), bad); code(err) != codes.InvalidArgument {
		t.Fatal(err)
	}
	s := subscribe(t, c, subscription("cluster1", cloudevents.ManifestBundlesDataType))
	tb.push(tb.conn(), "cluster1", "manifestbundles", workPush(t, "cluster1", "w1", 1, false))
	s.next(t)

	lease := string(cloudevents.LeasesDataType)
	works := string(cloudevents.ManifestBundlesDataType)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"cloudevents_received_total", map[string]string{"data_type": lease, "action": "update_request", "result": "ok"}, 1},
		{"cloudevents_received_total", map[string]string{"data_type": "unknown", "action": "unknown", "result": "invalid"}, 1},
		{"cloudevents_subscribers", map[string]string{"data_type": works}, 1},
		{"cloudevents_sent_total", map[string]string{"data_type": works, "result": "queued"}, 1},
		{"conductor_gateway_nats_request_duration_seconds", map[string]string{"backend": "kube", "data_type": lease, "result": "ok"}, 1},
		{"grpc_server_handled_total", map[string]string{"grpc_method": "Publish", "grpc_code": "OK"}, 1},
		{"grpc_server_handled_total", map[string]string{"grpc_method": "Publish", "grpc_code": "InvalidArgument"}, 1},
	}
	// Counters are updated by the server goroutines after the client already saw the result.
	for _, c := range checks {
		testenv.Eventually(t, waitTimeout, func() (bool, error) {
			got, ok := metricValue(t, gw, c.name, c.labels)
			if !ok || got != c.want {
				return false, fmt.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
			}
			return true, nil
		})
	}
	s.cancel()
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		got, _ := metricValue(t, gw, "cloudevents_subscribers", map[string]string{"data_type": works})
		return got == 0, nil
	})
}

func TestReadyFollowsTheNATSConnection(t *testing.T) {
	tb := newTestbed(t)
	g, err := gateway.New(gateway.Options{NATS: tb.conn(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Ready(context.Background()); err != nil {
		t.Fatalf("ready while connected: %v", err)
	}
	tb.nats.Shutdown()
	testenv.Eventually(t, waitTimeout, func() (bool, error) { return g.Ready(context.Background()) != nil, nil })
	tb.nats.Start(t)
	testenv.Eventually(t, waitTimeout, func() (bool, error) { return g.Ready(context.Background()) == nil, nil })
}
