package gateway_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/gateway"
)

func ceInt(v int32) *pbv1.CloudEventAttributeValue {
	return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeInteger{CeInteger: v}}
}

func ceBool(v bool) *pbv1.CloudEventAttributeValue {
	return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeBoolean{CeBoolean: v}}
}

func ceStr(v string) *pbv1.CloudEventAttributeValue {
	return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeString{CeString: v}}
}

// malformedCase edits a golden agent request into something the gateway must refuse.
type malformedCase struct {
	name   string
	golden string
	edit   func(req *pbv1.PublishRequest)
	// mention is a word the InvalidArgument message must contain, so the agent's log says what
	// is wrong.
	mention string
}

func malformedCorpus() []malformedCase {
	const lease = "agent-lease-spec-update-request"
	const work = "agent-work-status-update-kube"
	setType := func(typ string) func(*pbv1.PublishRequest) {
		return func(r *pbv1.PublishRequest) { r.Event.Type = typ }
	}
	setAttr := func(key string, v *pbv1.CloudEventAttributeValue) func(*pbv1.PublishRequest) {
		return func(r *pbv1.PublishRequest) { r.Event.Attributes[key] = v }
	}
	return []malformedCase{
		{"no event", lease, func(r *pbv1.PublishRequest) { r.Event = nil }, "no event"},
		{"spec version 0.3", lease, func(r *pbv1.PublishRequest) { r.Event.SpecVersion = "0.3" }, "spec"},
		{"no attributes", lease, func(r *pbv1.PublishRequest) { r.Event.Attributes = nil }, "encoding"},
		{"no id", lease, func(r *pbv1.PublishRequest) { r.Event.Id = "" }, "id"},
		{"empty type", lease, setType(""), "type"},
		{"type with too few tokens", lease, setType("coordination.k8s.io.leases"), "type"},
		{"bad subresource", lease, setType("coordination.k8s.io.v1.leases.metadata.update_request"), "subresource"},
		{"unknown action", lease, setType("coordination.k8s.io.v1.leases.spec.explode_request"), "action"},
		{"watch_request is not a wire action", lease, setType("coordination.k8s.io.v1.leases.spec.watch_request"), "action"},
		{"unknown data type", lease, setType("example.com.v1.widgets.spec.create_request"), "not served"},
		{"data type of another version", lease, setType("coordination.k8s.io.v2.leases.spec.update_request"), "not served"},
		{"heartbeat type", lease, setType("io.open-cluster-management.cloudevents.heartbeat"), "type"},
		{"no clustername", lease, func(r *pbv1.PublishRequest) { delete(r.Event.Attributes, "ce-clustername") }, "clustername"},
		{"empty clustername", lease, setAttr("ce-clustername", ceStr("")), "clustername"},
		{"clustername as integer", lease, setAttr("ce-clustername", ceInt(1)), "clustername"},
		{"resourceid as integer", lease, setAttr("ce-resourceid", ceInt(7)), "resourceid"},
		{"originalsource as boolean", work, setAttr("ce-originalsource", ceBool(true)), "originalsource"},
		{"lease resourceversion as integer", lease, setAttr("ce-resourceversion", ceInt(12)), "resourceversion"},
		{"lease resourceversion not numeric", lease, setAttr("ce-resourceversion", ceStr("v12")), "resourceversion"},
		{"work resourceversion not numeric", work, setAttr("ce-resourceversion", ceStr("one")), "resourceversion"},
		{"deletiontimestamp not a time", work, setAttr("ce-deletiontimestamp", ceStr("yesterday")), "deletiontimestamp"},
		{"sequenceid as integer", work, setAttr("ce-sequenceid", ceInt(5)), "sequenceid"},
		{"time as string", lease, setAttr("ce-time", ceStr("noon")), "time"},
		{"time out of range", lease, setAttr("ce-time",
			&pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeTimestamp{CeTimestamp: &timestamppb.Timestamp{Seconds: -1 << 62}}}), "time"},
		{"data larger than the bus carries", lease, func(r *pbv1.PublishRequest) {
			r.Event.Data = &pbv1.CloudEvent_BinaryData{BinaryData: bytes.Repeat([]byte("x"), 2<<20)}
		}, "exceeds"},
		{"status resync request", lease, setType("coordination.k8s.io.v1.leases.status.resync_request"), "resync"},
		{"resync request without data", "agent-work-spec-resync-request", func(r *pbv1.PublishRequest) { r.Event.Data = nil }, "resync"},
		{"resync request with non-JSON data", "agent-work-spec-resync-request", func(r *pbv1.PublishRequest) {
			r.Event.Data = &pbv1.CloudEvent_BinaryData{BinaryData: []byte("resourceVersions")}
		}, "resync"},
		{"resync request with wrongly typed versions", "agent-work-spec-resync-request", func(r *pbv1.PublishRequest) {
			r.Event.Data = &pbv1.CloudEvent_BinaryData{BinaryData: []byte(`{"resourceVersions":[{"resourceID":"a","resourceVersion":"1"}]}`)}
		}, "resync"},
		{"resync request entry without id", "agent-work-spec-resync-request", func(r *pbv1.PublishRequest) {
			r.Event.Data = &pbv1.CloudEvent_BinaryData{BinaryData: []byte(`{"resourceVersions":[{"resourceVersion":1}]}`)}
		}, "resourceID"},
		{"token request with non-JSON data", "agent-tokenrequest-spec-create-request", func(r *pbv1.PublishRequest) {
			r.Event.Data = &pbv1.CloudEvent_BinaryData{BinaryData: []byte("not json")}
		}, "metadata.name"},
		{"work status of an unknown owner", work, setAttr("ce-originalsource", ceStr("someone-else")), "originalsource"},
	}
}

func TestMalformedInputIsInvalidArgumentAndNeverForwarded(t *testing.T) {
	tb := newTestbed(t)
	kubeBackend := tb.respond(bus.BackendKube, nil)
	maestroBackend := tb.respond(bus.BackendMaestro, nil)
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	for _, tt := range malformedCorpus() {
		t.Run(tt.name, func(t *testing.T) {
			req := loadPublish(t, tt.golden)
			tt.edit(req)
			_, err := c.Publish(ctxTimeout(t), req)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("got %v %q, want InvalidArgument", st.Code(), st.Message())
			}
			if !strings.Contains(strings.ToLower(st.Message()), strings.ToLower(tt.mention)) {
				t.Fatalf("message %q does not say what is wrong (%q)", st.Message(), tt.mention)
			}
		})
	}
	// A valid request afterwards is the first thing the backends see.
	marker := loadPublish(t, "agent-lease-spec-update-request")
	if _, err := c.Publish(ctxTimeout(t), marker); err != nil {
		t.Fatal(err)
	}
	if got := kubeBackend.next(t); got.Event.ID() != marker.GetEvent().GetId() {
		t.Fatalf("a malformed request was forwarded: %s %s", got.Event.Type(), got.Event.ID())
	}
	kubeBackend.none(t)
	maestroBackend.none(t)
}

func TestMessagesAboveTheReceiveLimitAreRefused(t *testing.T) {
	tb := newTestbed(t)
	kubeBackend := tb.respond(bus.BackendKube, nil)
	gw := tb.startGateway(gateway.Options{MaxRecvMsgSize: 64 << 10})
	c := tb.client(gw.addr, nil)
	req := loadPublish(t, "agent-lease-spec-update-request")
	req.Event.Data = &pbv1.CloudEvent_BinaryData{BinaryData: bytes.Repeat([]byte("x"), 100<<10)}
	if _, err := c.Publish(ctxTimeout(t), req); code(err) != codes.ResourceExhausted {
		t.Fatalf("got %v, want ResourceExhausted", err)
	}
	kubeBackend.none(t)
}

// FuzzPublish throws arbitrary PublishRequests at a gateway backed by trivial responders. The
// gateway must never crash, and must answer every request with OK or a classified refusal.
func FuzzPublish(f *testing.F) {
	goldens, err := filepath.Glob(filepath.Join(wireDir, "*-request.pb"))
	if err != nil || len(goldens) == 0 {
		f.Fatalf("no golden requests: %v", err)
	}
	for _, name := range goldens {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, tt := range malformedCorpus() {
		req := loadPublish(f, tt.golden)
		tt.edit(req)
		raw, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	tb := newTestbed(f)
	tb.respond(bus.BackendKube, nil)
	tb.respond(bus.BackendMaestro, nil)
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	allowed := map[codes.Code]bool{codes.OK: true, codes.InvalidArgument: true}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := &pbv1.PublishRequest{}
		if proto.Unmarshal(raw, req) != nil {
			t.Skip("not a PublishRequest")
		}
		_, err := c.Publish(ctxTimeout(t), req)
		if c := code(err); !allowed[c] {
			t.Fatalf("unclassified outcome %v: %v", c, err)
		}
	})
}
