package gateway_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/gateway"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

const waitTimeout = 10 * time.Second

// testbed is a real NATS server with gateways and trivial NATS responders standing in for
// work-service and db-service.
type testbed struct {
	t    testing.TB
	nats *testenv.NATSServer
}

// wireDir holds the recorded sdk-go wire traffic, kept once in pkg/cloudevents.
const wireDir = "../cloudevents/testdata/wire"

func newTestbed(t testing.TB) *testbed {
	t.Helper()
	return &testbed{t: t, nats: testenv.NATS(t)}
}

// conn is a new NATS connection that reconnects quickly, closed when the test ends.
func (tb *testbed) conn() *nats.Conn {
	tb.t.Helper()
	nc, err := nats.Connect(tb.nats.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		tb.t.Fatalf("connecting to NATS: %v", err)
	}
	tb.t.Cleanup(nc.Close)
	return nc
}

// runningGateway is one gateway process serving on a local port.
type runningGateway struct {
	addr     string
	registry *prometheus.Registry
	nc       *nats.Conn
	stop     func() error
}

// startGateway starts a gateway with opts (NATS, Registerer and Logger are filled in).
func (tb *testbed) startGateway(opts gateway.Options) *runningGateway {
	tb.t.Helper()
	rg := &runningGateway{registry: prometheus.NewRegistry(), nc: tb.conn()}
	opts.NATS, opts.Registerer, opts.Logger = rg.nc, rg.registry, testLogger()
	g, err := gateway.New(opts)
	if err != nil {
		tb.t.Fatalf("gateway.New: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.t.Fatal(err)
	}
	rg.addr = lis.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, lis) }()
	var once sync.Once
	var stopErr error
	rg.stop = func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
		})
		return stopErr
	}
	tb.t.Cleanup(func() {
		if err := rg.stop(); err != nil {
			tb.t.Errorf("gateway Serve: %v", err)
		}
	})
	return rg
}

func testLogger() *slog.Logger {
	if os.Getenv("GATEWAY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// client dials a gateway. Without creds it dials plaintext.
func (tb *testbed) client(addr string, creds credentials.TransportCredentials, opts ...grpc.DialOption) pbv1.CloudEventServiceClient {
	tb.t.Helper()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	conn, err := grpc.NewClient(addr, append(opts, grpc.WithTransportCredentials(creds))...)
	if err != nil {
		tb.t.Fatalf("dialing %s: %v", addr, err)
	}
	tb.t.Cleanup(func() { _ = conn.Close() })
	return pbv1.NewCloudEventServiceClient(conn)
}

// recorder is a trivial backend: it records every request and answers with reply.
type recorder struct {
	requests chan bus.Request
	mu       sync.Mutex
	reply    func(bus.Request) bus.Reply
}

// respond serves the request subjects of backend like its service would (queue group included).
func (tb *testbed) respond(backend bus.Backend, reply func(bus.Request) bus.Reply) *recorder {
	tb.t.Helper()
	r := &recorder{requests: make(chan bus.Request, 10000), reply: reply}
	if r.reply == nil {
		r.reply = func(bus.Request) bus.Reply { return bus.ReplyOK() }
	}
	nc := tb.conn()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	handler := func(_ context.Context, req bus.Request) bus.Reply {
		select {
		case r.requests <- req:
		default: // benchmarks send more than any test reads
		}
		r.mu.Lock()
		reply := r.reply
		r.mu.Unlock()
		return reply(req)
	}
	go func() {
		done <- bus.Serve(ctx, nc, bus.RequestWildcard(backend), backend.QueueGroup(), handler,
			bus.ServeOptions{Logger: testLogger(), OnReady: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		tb.t.Fatalf("responder for %s: %v", backend, err)
	}
	tb.t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

// setReply changes the answer of later requests.
func (r *recorder) setReply(reply func(bus.Request) bus.Reply) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reply = reply
}

// next waits for the next request.
func (r *recorder) next(t testing.TB) bus.Request {
	t.Helper()
	select {
	case req := <-r.requests:
		return req
	case <-time.After(waitTimeout):
		t.Fatal("no request reached the backend")
	}
	return bus.Request{}
}

// none checks that no request is waiting: call it after a round trip proved the gateway is
// done with earlier ones.
func (r *recorder) none(t testing.TB) {
	t.Helper()
	select {
	case req := <-r.requests:
		t.Fatalf("unexpected request reached the backend: %s %s", req.Event.Type(), req.Event.ID())
	default:
	}
}

// push publishes evt as a backend does.
func (tb *testbed) push(nc *nats.Conn, cluster, key string, evt event.Event) {
	tb.t.Helper()
	subject, err := bus.PushSubject(cluster, key)
	if err != nil {
		tb.t.Fatal(err)
	}
	if err := bus.Publish(nc, subject, evt); err != nil {
		tb.t.Fatal(err)
	}
}

// stream is an open Subscribe call.
type stream struct {
	client pbv1.CloudEventService_SubscribeClient
	header metadata.MD
	cancel context.CancelFunc
	msgs   chan *pbv1.CloudEvent
	err    chan error
}

// subscribe opens a stream and waits for its subscription-id header.
func subscribe(t testing.TB, c pbv1.CloudEventServiceClient, req *pbv1.SubscriptionRequest, callOpts ...grpc.CallOption) *stream {
	t.Helper()
	s, err := openStream(t, c, req, callOpts...)
	if err != nil {
		t.Fatalf("subscribe %s/%s: %v", req.GetClusterName(), req.GetDataType(), err)
	}
	return s
}

// openStream subscribes and returns the error that ended the stream before the header.
func openStream(t testing.TB, c pbv1.CloudEventServiceClient, req *pbv1.SubscriptionRequest, callOpts ...grpc.CallOption) (*stream, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sc, err := c.Subscribe(ctx, req, callOpts...)
	if err != nil {
		cancel()
		return nil, err
	}
	header, err := sc.Header()
	if err != nil {
		cancel()
		return nil, err
	}
	if len(header.Get(gateway.SubscriptionIDHeader)) == 0 {
		// No header: the server ended the call; its status is in Recv.
		_, err := sc.Recv()
		cancel()
		if err == nil {
			err = errors.New("stream without subscription-id header")
		}
		return &stream{header: header}, err
	}
	s := &stream{client: sc, header: header, cancel: cancel, msgs: make(chan *pbv1.CloudEvent, 10000), err: make(chan error, 1)}
	go s.pump()
	return s, nil
}

// pump receives until the stream ends; heartbeats are kept too, tests filter them.
func (s *stream) pump() {
	for {
		msg, err := s.client.Recv()
		if err != nil {
			s.err <- err
			return
		}
		s.msgs <- msg
	}
}

// next returns the next non-heartbeat event.
func (s *stream) next(t testing.TB) *pbv1.CloudEvent {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case msg := <-s.msgs:
			if cloudevents.IsHeartbeat(msg) {
				continue
			}
			return msg
		case err := <-s.err:
			t.Fatalf("stream ended: %v", err)
		case <-deadline:
			t.Fatal("no event within the deadline")
		}
	}
}

// nextUntil returns the next event, skipping heartbeats, or fails.
func (s *stream) expectOnly(t testing.TB, id string) {
	t.Helper()
	if msg := s.next(t); msg.GetId() != id {
		t.Fatalf("got event %s (%s), want %s", msg.GetId(), msg.GetType(), id)
	}
}

// ended waits for the stream to end and returns its status.
func (s *stream) ended(t testing.TB) *status.Status {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case <-s.msgs:
		case err := <-s.err:
			return status.Convert(err)
		case <-deadline:
			t.Fatal("stream did not end")
		}
	}
}

// loadPublish reads a golden PublishRequest recorded from a real agent.
func loadPublish(t testing.TB, name string) *pbv1.PublishRequest {
	t.Helper()
	req := &pbv1.PublishRequest{}
	loadGolden(t, name, req)
	return req
}

// loadSubscribe reads a golden SubscriptionRequest recorded from a real agent.
func loadSubscribe(t testing.TB, name string) *pbv1.SubscriptionRequest {
	t.Helper()
	req := &pbv1.SubscriptionRequest{}
	loadGolden(t, name, req)
	return req
}

func loadGolden(t testing.TB, name string, msg proto.Message) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(wireDir, name+".pb"))
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(raw, msg); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// publishEvent wraps an event built in the test.
func publishEvent(t testing.TB, evt event.Event) *pbv1.PublishRequest {
	t.Helper()
	msg, err := cloudevents.ToProto(evt)
	if err != nil {
		t.Fatal(err)
	}
	return &pbv1.PublishRequest{Event: msg}
}

// setString sets a ce_string attribute on a proto event.
func setString(req *pbv1.PublishRequest, key, value string) *pbv1.PublishRequest {
	req.Event.Attributes[key] = &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeString{CeString: value}}
	return req
}

func code(err error) codes.Code { return status.Code(err) }

func ctxTimeout(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// tlsCreds pins TLS 1.3 like sdk-go clients.
func tlsCreds(cfg *tls.Config) credentials.TransportCredentials {
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	return credentials.NewTLS(cfg)
}
