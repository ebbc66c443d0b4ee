package gateway_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/gateway"
)

func TestPublishRoutesByDataTypeAndOriginalSource(t *testing.T) {
	tb := newTestbed(t)
	kubeBackend := tb.respond(bus.BackendKube, nil)
	maestroBackend := tb.respond(bus.BackendMaestro, nil)
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)

	workStatus := func(originalSource string) *pbv1.PublishRequest {
		return setString(loadPublish(t, "agent-work-status-update-kube"), "ce-originalsource", originalSource)
	}
	tests := []struct {
		name    string
		req     *pbv1.PublishRequest
		backend *recorder
		key     string
	}{
		{"cluster create", loadPublish(t, "agent-cluster-spec-create-request"), kubeBackend, "managedclusters"},
		{"cluster status", loadPublish(t, "agent-cluster-status-update-request"), kubeBackend, "managedclusters"},
		{"csr create", loadPublish(t, "agent-csr-spec-create-request"), kubeBackend, "csrs"},
		{"lease update", loadPublish(t, "agent-lease-spec-update-request"), kubeBackend, "leases"},
		{"event create", loadPublish(t, "agent-event-spec-create-request"), kubeBackend, "events"},
		{"addon status", loadPublish(t, "agent-addon-status-update-request"), kubeBackend, "addons-v1beta1"},
		{"token request", loadPublish(t, "agent-tokenrequest-spec-create-request"), kubeBackend, "tokenrequests"},
		{"work status of a kube work", loadPublish(t, "agent-work-status-update-kube"), kubeBackend, "manifestbundles"},
		{"work status of a maestro work", loadPublish(t, "agent-work-status-update-maestro"), maestroBackend, "manifestbundles"},
		{"work status, kube:: id", workStatus("kube::cluster1/w2"), kubeBackend, "manifestbundles"},
		{"work status, maestro:: id", workStatus("maestro::8c1d2e3f"), maestroBackend, "manifestbundles"},
		{"final Deleted status", loadPublish(t, "agent-work-status-update-deleted"), kubeBackend, "manifestbundles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Publish(ctxTimeout(t), tt.req); err != nil {
				t.Fatalf("publish: %v", err)
			}
			got := tt.backend.next(t)
			if got.Cluster != "cluster1" || got.Key != tt.key {
				t.Fatalf("routed to cluster %q key %q, want cluster1 %q", got.Cluster, got.Key, tt.key)
			}
			if got.Event.ID() != tt.req.GetEvent().GetId() || !bytes.Equal(got.Event.Data(), tt.req.GetEvent().GetBinaryData()) {
				t.Fatalf("the backend got a different event: %s", got.Event.ID())
			}
			assertSameExtensions(t, tt.req.GetEvent(), got)
		})
	}
	kubeBackend.none(t)
	maestroBackend.none(t)
}

// assertSameExtensions checks that every attribute the agent sent reaches the backend with the
// same value, so resourceversion, sequenceid or statushash are never lost on the way.
func assertSameExtensions(t *testing.T, sent *pbv1.CloudEvent, got bus.Request) {
	t.Helper()
	back, err := cloudevents.ToProto(got.Event)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range sent.GetAttributes() {
		have, ok := back.GetAttributes()[key]
		if !ok {
			t.Errorf("attribute %s lost", key)
			continue
		}
		if have.String() != want.String() {
			t.Errorf("attribute %s: sent %v, backend got %v", key, want, have)
		}
	}
}

func TestPublishUnknownOriginalSourceIsInvalid(t *testing.T) {
	tb := newTestbed(t)
	kubeBackend := tb.respond(bus.BackendKube, nil)
	maestroBackend := tb.respond(bus.BackendMaestro, nil)
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	for _, source := range []string{"", "other", "kubernetes", "maestro-2", "kube:", ":kube"} {
		req := setString(loadPublish(t, "agent-work-status-update-kube"), "ce-originalsource", source)
		_, err := c.Publish(ctxTimeout(t), req)
		if code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "originalsource") {
			t.Errorf("originalsource %q: got %v, want InvalidArgument naming originalsource", source, err)
		}
	}
	// Without the extension at all.
	req := loadPublish(t, "agent-work-status-update-kube")
	delete(req.Event.Attributes, "ce-originalsource")
	if _, err := c.Publish(ctxTimeout(t), req); code(err) != codes.InvalidArgument {
		t.Errorf("no originalsource: %v", err)
	}
	kubeBackend.none(t)
	maestroBackend.none(t)
}

// goldenStatus reads a gRPC status the OCM broker returned, as recorded.
func goldenStatus(t *testing.T, name string) (codes.Code, string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(wireDir, name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	var c codes.Code
	var msg string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if v, ok := strings.CutPrefix(line, "message: "); ok {
			msg = v
		}
		if strings.HasPrefix(line, "code: FailedPrecondition") {
			c = codes.FailedPrecondition
		}
	}
	return c, msg
}

func TestBackendErrorsReachTheAgentAsTheOCMBrokerSendsThem(t *testing.T) {
	tb := newTestbed(t)
	kubeBackend := tb.respond(bus.BackendKube, nil)
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)

	tests := []struct {
		name    string
		request string
		err     error
		is      func(error) bool
	}{
		{"conflict", "error-conflict-request", apierrors.NewConflict(
			schema.GroupResource{Group: "cluster.open-cluster-management.io", Resource: "managedclusters"}, "cluster1",
			errFixed("the object has been modified; please apply your changes to the latest version and try again")),
			apierrors.IsConflict},
		{"notfound", "error-notfound-request", apierrors.NewNotFound(
			schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "missing-lease"),
			apierrors.IsNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kubeBackend.setReply(func(bus.Request) bus.Reply { return bus.ReplyError(tt.err) })
			_, err := c.Publish(ctxTimeout(t), loadPublish(t, tt.request))
			wantCode, wantMsg := goldenStatus(t, "error-"+tt.name)
			st := status.Convert(err)
			if st.Code() != wantCode || st.Message() != wantMsg {
				t.Fatalf("got %v %q\nwant %v %q", st.Code(), st.Message(), wantCode, wantMsg)
			}
			// What sdk-go clients do with the message.
			decoded := &apierrors.StatusError{}
			if err := json.Unmarshal([]byte(st.Message()), decoded); err != nil || !tt.is(decoded) {
				t.Fatalf("agent-side decoding: %v, %v", err, decoded)
			}
		})
	}
}

type errFixed string

func (e errFixed) Error() string { return string(e) }

func TestPublishWithoutBackendIsUnavailable(t *testing.T) {
	tb := newTestbed(t)
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	_, err := c.Publish(ctxTimeout(t), loadPublish(t, "agent-cluster-status-update-request"))
	if code(err) != codes.Unavailable {
		t.Fatalf("no responders: got %v, want Unavailable", err)
	}
	// Only db-service is down: kube works go through, maestro works do not.
	tb.respond(bus.BackendKube, nil)
	if _, err := c.Publish(ctxTimeout(t), loadPublish(t, "agent-work-status-update-kube")); err != nil {
		t.Fatalf("kube work status: %v", err)
	}
	if _, err := c.Publish(ctxTimeout(t), loadPublish(t, "agent-work-status-update-maestro")); code(err) != codes.Unavailable {
		t.Fatalf("maestro work status without db-service: %v", err)
	}
}

func TestPublishTimeoutIsUnavailable(t *testing.T) {
	tb := newTestbed(t)
	release := make(chan struct{})
	defer close(release)
	tb.respond(bus.BackendKube, func(bus.Request) bus.Reply {
		<-release
		return bus.ReplyOK()
	})
	gw := tb.startGateway(gateway.Options{RequestTimeout: 300 * time.Millisecond})
	c := tb.client(gw.addr, nil)
	_, err := c.Publish(ctxTimeout(t), loadPublish(t, "agent-lease-spec-update-request"))
	if code(err) != codes.Unavailable {
		t.Fatalf("backend not answering: got %v, want Unavailable", err)
	}
}
