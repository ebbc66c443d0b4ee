package testenv_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cloudevents-conductor/conductor/test/testenv"
)

func connectNATS(t *testing.T, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func TestNATSRequestReplyCarriesCloudEventHeaders(t *testing.T) {
	srv := testenv.NATS(t)
	backend := connectNATS(t, srv.ClientURL())
	gateway := connectNATS(t, srv.ClientURL())

	// A backend answers with the id of the event it got, read from the headers.
	_, err := backend.QueueSubscribe("conductor.req.kube.cluster1.leases", "work-service", func(m *nats.Msg) {
		reply := nats.NewMsg(m.Reply)
		reply.Header.Set("ce-id", "reply-to-"+m.Header.Get("ce-id"))
		reply.Header.Set("ce-type", m.Header.Get("ce-type"))
		reply.Data = m.Data
		_ = m.RespondMsg(reply)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := backend.Flush(); err != nil {
		t.Fatal(err)
	}

	req := nats.NewMsg("conductor.req.kube.cluster1.leases")
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-id", "0b5b6a2e-1b9e-4c0c-9d0a-6f7c1f0b8e11")
	req.Header.Set("ce-source", "cluster1-agent")
	req.Header.Set("ce-type", "io.k8s.coordination.v1.leases.spec.update_request")
	req.Header.Set("ce-clustername", "cluster1")
	req.Header.Set("content-type", "application/json")
	req.Data = []byte(`{"metadata":{"name":"cluster1-lease"}}`)

	reply, err := gateway.RequestMsg(req, 5*time.Second)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if got, want := reply.Header.Get("ce-id"), "reply-to-0b5b6a2e-1b9e-4c0c-9d0a-6f7c1f0b8e11"; got != want {
		t.Errorf("reply ce-id = %q, want %q", got, want)
	}
	if got, want := reply.Header.Get("ce-type"), "io.k8s.coordination.v1.leases.spec.update_request"; got != want {
		t.Errorf("reply ce-type = %q, want %q", got, want)
	}
	if string(reply.Data) != string(req.Data) {
		t.Errorf("reply body = %s, want %s", reply.Data, req.Data)
	}
}

func TestNATSRestartKeepsURLAndClientsReconnect(t *testing.T) {
	srv := testenv.NATS(t)
	url := srv.ClientURL()
	reconnected := make(chan struct{}, 1)
	nc := connectNATS(t, url,
		nats.MaxReconnects(-1),
		nats.ReconnectWait(20*time.Millisecond),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))

	sub, err := nc.SubscribeSync("conductor.push.cluster1.leases")
	if err != nil {
		t.Fatal(err)
	}

	srv.Restart(t)
	if srv.ClientURL() != url {
		t.Fatalf("URL changed across restart: %s, then %s", url, srv.ClientURL())
	}
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("client did not reconnect after the restart")
	}

	// The client re-subscribes on reconnect; the flush round trip makes sure the
	// server has seen that before anything is published.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	publisher := connectNATS(t, url)
	if err := publisher.Publish("conductor.push.cluster1.leases", []byte("after restart")); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no message after restart: %v", err)
	}
	if string(msg.Data) != "after restart" {
		t.Errorf("got %q", msg.Data)
	}
}
