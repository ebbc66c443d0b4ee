package bus_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
)

var agentIdentity = bus.Identity{
	User:   "system:serviceaccount:open-cluster-management-agent:klusterlet-work-sa",
	Groups: []string{"system:authenticated", "group,with comma", " padded\r\n", "100%"},
}

// serving is one running Serve call; err is set before done is closed.
type serving struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    *error
}

// wait returns Serve's result once it has returned.
func (s serving) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-s.done:
		return *s.err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

// serve starts Serve on nc and returns once its subscription is registered.
func serve(t *testing.T, nc *nats.Conn, subject, queue string, handler bus.Handler, opts bus.ServeOptions) serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	opts.OnReady = func() { close(ready) }
	s := serving{cancel: cancel, done: make(chan struct{}), err: new(error)}
	go func() {
		defer close(s.done)
		*s.err = bus.Serve(ctx, nc, subject, queue, handler, opts)
	}()
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("Serve returned before ready: %v", *s.err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve not ready")
	}
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

func requestSubject(t testing.TB, cluster, key string) string {
	t.Helper()
	subject, err := bus.RequestSubject(bus.BackendKube, cluster, key)
	if err != nil {
		t.Fatal(err)
	}
	return subject
}

func okHandler(context.Context, bus.Request) bus.Reply { return bus.ReplyOK() }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// deliveredBy is the number of messages the server has sent to clients.
func deliveredBy(t *testing.T, srv *server.Server) int64 {
	t.Helper()
	v, err := srv.Varz(nil)
	if err != nil {
		t.Fatal(err)
	}
	return v.OutMsgs
}

func TestServeQueueGroupAnswersEachRequestOnce(t *testing.T) {
	srv := startNATS(t)
	var mu sync.Mutex
	handled := map[string]int{}
	perReplica := map[string]int{}
	var mismatch atomic.Value
	replica := func(name string) bus.Handler {
		return func(_ context.Context, req bus.Request) bus.Reply {
			if req.Backend != bus.BackendKube || req.Cluster != "prod.eu" || req.Key != "manifestbundles" ||
				!reflect.DeepEqual(req.Identity, agentIdentity) {
				mismatch.Store(fmt.Sprintf("%+v", req))
			}
			mu.Lock()
			handled[req.Event.ID()]++
			perReplica[name]++
			mu.Unlock()
			return bus.ReplyOwned([]string{req.Event.ID()})
		}
	}
	serve(t, connect(t, srv), bus.RequestWildcard(bus.BackendKube), bus.QueueWorkService, replica("a"), bus.ServeOptions{})
	serve(t, connect(t, srv), bus.RequestWildcard(bus.BackendKube), bus.QueueWorkService, replica("b"), bus.ServeOptions{})

	client := connect(t, srv)
	subject := requestSubject(t, "prod.eu", "manifestbundles")
	const n = 60
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			evt := manifestBundleStatus(t)
			evt.SetID(fmt.Sprintf("event-%d", i))
			reply, err := bus.SendRequest(context.Background(), client, subject, evt, agentIdentity)
			if err == nil && (!reply.OK() || !reflect.DeepEqual(reply.OwnedResourceIDs, []string{evt.ID()})) {
				err = fmt.Errorf("event %s: reply %+v", evt.ID(), reply)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if m := mismatch.Load(); m != nil {
		t.Fatalf("handler saw a wrong request: %v", m)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != n {
		t.Fatalf("%d distinct requests handled, want %d", len(handled), n)
	}
	for id, count := range handled {
		if count != 1 {
			t.Fatalf("request %s handled %d times", id, count)
		}
	}
	if perReplica["a"] == 0 || perReplica["b"] == 0 {
		t.Fatalf("queue group did not spread requests: %v", perReplica)
	}
}

func TestSendRequestReturnsBackendStatus(t *testing.T) {
	srv := startNATS(t)
	conflict := apierrors.NewConflict(workResource, "w1", errors.New("modified"))
	serve(t, connect(t, srv), bus.RequestWildcard(bus.BackendKube), bus.QueueWorkService,
		func(context.Context, bus.Request) bus.Reply { return bus.ReplyError(conflict) }, bus.ServeOptions{})

	reply, err := bus.SendRequest(context.Background(), connect(t, srv), requestSubject(t, "cluster1", "manifestbundles"),
		manifestBundleStatus(t), agentIdentity)
	if err != nil {
		t.Fatalf("SendRequest: %v", err)
	}
	if !apierrors.IsConflict(reply.Err()) || !reflect.DeepEqual(*bus.StatusFromReply(reply), conflict.ErrStatus) {
		t.Fatalf("reply = %+v, want the Conflict status", reply)
	}
}

func TestSendRequestWithoutResponderIsUnavailable(t *testing.T) {
	nc := connect(t, startNATS(t))
	_, err := bus.SendRequest(context.Background(), nc, requestSubject(t, "cluster1", "leases"), manifestBundleStatus(t), agentIdentity)
	if !errors.Is(err, bus.ErrUnavailable) || !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping no responders", err)
	}
}

func TestSendRequestTimeoutIsUnavailable(t *testing.T) {
	srv := startNATS(t)
	release := make(chan struct{})
	serve(t, connect(t, srv), bus.RequestWildcard(bus.BackendKube), bus.QueueWorkService,
		func(context.Context, bus.Request) bus.Reply { <-release; return bus.ReplyOK() }, bus.ServeOptions{})
	t.Cleanup(func() { close(release) }) // runs before serve's cleanup, which drains

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := bus.SendRequest(ctx, connect(t, srv), requestSubject(t, "cluster1", "leases"), manifestBundleStatus(t), agentIdentity)
	if !errors.Is(err, bus.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping the deadline", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = bus.SendRequest(ctx, connect(t, srv), requestSubject(t, "cluster1", "leases"), manifestBundleStatus(t), agentIdentity)
	if errors.Is(err, bus.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want plain cancellation", err)
	}
}

func TestServeAnswersMalformedRequestsWithBadRequest(t *testing.T) {
	srv := startNATS(t)
	var calls atomic.Int32
	serve(t, connect(t, srv), bus.RequestWildcard(bus.BackendKube), bus.QueueWorkService,
		func(context.Context, bus.Request) bus.Reply { calls.Add(1); return bus.ReplyOK() }, bus.ServeOptions{})
	client := connect(t, srv)

	notAnEvent := nats.NewMsg(requestSubject(t, "cluster1", "leases"))
	notAnEvent.Data = []byte("hello")

	missingID, err := bus.EventToMsg(requestSubject(t, "cluster1", "leases"), manifestBundleStatus(t))
	if err != nil {
		t.Fatal(err)
	}
	missingID.Header.Del("ce-id")

	nonCanonicalCluster, err := bus.EventToMsg("conductor.req.kube.a%2eb.leases", manifestBundleStatus(t))
	if err != nil {
		t.Fatal(err)
	}
	badIdentity, err := bus.EventToMsg(requestSubject(t, "cluster1", "leases"), manifestBundleStatus(t))
	if err != nil {
		t.Fatal(err)
	}
	badIdentity.Header.Set(bus.HeaderUser, "%zz")

	for name, msg := range map[string]*nats.Msg{"not an event": notAnEvent, "missing id": missingID,
		"non-canonical cluster": nonCanonicalCluster, "bad identity": badIdentity} {
		t.Run(name, func(t *testing.T) {
			resp, err := client.RequestMsg(msg, 5*time.Second)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			reply, err := bus.DecodeReply(resp.Data)
			if err != nil {
				t.Fatal(err)
			}
			if st := bus.StatusFromReply(reply); st == nil || st.Code != http.StatusBadRequest || st.Reason != metav1.StatusReasonBadRequest {
				t.Fatalf("reply = %+v, want BadRequest", reply)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("handler called %d times for malformed messages", n)
	}
}

func TestServeTurnsHandlerPanicIntoInternalError(t *testing.T) {
	srv := startNATS(t)
	serve(t, connect(t, srv), bus.RequestWildcard(bus.BackendKube), bus.QueueWorkService,
		func(_ context.Context, req bus.Request) bus.Reply {
			if req.Key == "leases" {
				panic("nil map")
			}
			return bus.ReplyOK()
		}, bus.ServeOptions{})
	client := connect(t, srv)

	reply, err := bus.SendRequest(context.Background(), client, requestSubject(t, "c1", "leases"), manifestBundleStatus(t), agentIdentity)
	if err != nil {
		t.Fatal(err)
	}
	if st := bus.StatusFromReply(reply); st == nil || st.Code != http.StatusInternalServerError {
		t.Fatalf("reply = %+v, want InternalError", reply)
	}
	reply, err = bus.SendRequest(context.Background(), client, requestSubject(t, "c1", "csrs"), manifestBundleStatus(t), agentIdentity)
	if err != nil || !reply.OK() {
		t.Fatalf("after a panic: reply %+v, err %v; the server must keep serving", reply, err)
	}
}

func TestServeBoundsConcurrency(t *testing.T) {
	srv := startNATS(t)
	const limit, n = 2, 6
	var active, peak atomic.Int32
	release := make(chan struct{})
	handler := func(context.Context, bus.Request) bus.Reply {
		now := active.Add(1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		<-release
		active.Add(-1)
		return bus.ReplyOK()
	}
	serve(t, connect(t, srv), bus.RequestWildcard(bus.BackendKube), bus.QueueWorkService, handler,
		bus.ServeOptions{MaxConcurrent: limit})

	client := connect(t, srv)
	before := deliveredBy(t, srv)
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := bus.SendRequest(context.Background(), client, requestSubject(t, "c1", "leases"), manifestBundleStatus(t), agentIdentity)
			errs <- err
		}()
	}
	waitFor(t, "all requests delivered to the service", func() bool { return deliveredBy(t, srv)-before >= n })
	waitFor(t, "handlers busy", func() bool { return active.Load() == limit })
	close(release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if p := peak.Load(); p != limit {
		t.Fatalf("peak concurrency %d, want %d", p, limit)
	}
}

// TestServeDrainsOnCancel cancels Serve while one request is in its handler and more wait in
// the client buffer: all are answered, then the service is gone.
func TestServeDrainsOnCancel(t *testing.T) {
	srv := startNATS(t)
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	handler := func(ctx context.Context, _ bus.Request) bus.Reply {
		started <- struct{}{}
		<-release
		if ctx.Err() != nil {
			return bus.ReplyError(ctx.Err())
		}
		return bus.ReplyOK()
	}
	s := serve(t, connect(t, srv), bus.RequestWildcard(bus.BackendKube), bus.QueueWorkService, handler,
		bus.ServeOptions{MaxConcurrent: 1})

	client := connect(t, srv)
	const n = 3
	before := deliveredBy(t, srv)
	errs := make(chan error, n)
	for range n {
		go func() {
			reply, err := bus.SendRequest(context.Background(), client, requestSubject(t, "c1", "leases"), manifestBundleStatus(t), agentIdentity)
			if err == nil && !reply.OK() {
				err = fmt.Errorf("reply %+v", reply)
			}
			errs <- err
		}()
	}
	<-started
	waitFor(t, "all requests delivered to the service", func() bool { return deliveredBy(t, srv)-before >= n })

	stopped := make(chan error, 1)
	s.cancel()
	go func() { <-s.done; stopped <- *s.err }()
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) with requests still in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("in-flight request during drain: %v", err)
		}
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve after drain: %v", err)
	}
	_, err := bus.SendRequest(context.Background(), client, requestSubject(t, "c1", "leases"), manifestBundleStatus(t), agentIdentity)
	if !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("after drain err = %v, want ErrUnavailable", err)
	}
}

func TestServeReturnsErrorWhenConnectionCloses(t *testing.T) {
	srv := startNATS(t)
	nc := connect(t, srv)
	s := serve(t, nc, bus.RequestWildcard(bus.BackendKube), bus.QueueWorkService, okHandler, bus.ServeOptions{})
	nc.Close()
	if err := s.wait(t); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatalf("Serve = %v, want connection closed", err)
	}
}
