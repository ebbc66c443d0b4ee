package cloudevents

import (
	"bytes"
	"errors"
	"math"
	"net/url"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
)

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)

func newTestEvent() event.Event {
	e := event.New()
	e.SetID("id-1")
	e.SetSource("cluster1-work-agent")
	e.SetType("io.open-cluster-management.works.v1alpha1.manifestbundles.status.update_request")
	SetClusterName(&e, "cluster1")
	return e
}

func str(s string) *pbv1.CloudEventAttributeValue {
	return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeString{CeString: s}}
}

func integer(i int32) *pbv1.CloudEventAttributeValue {
	return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeInteger{CeInteger: i}}
}

func timestamp(t time.Time) *pbv1.CloudEventAttributeValue {
	return &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeTimestamp{CeTimestamp: timestamppb.New(t)}}
}

func TestToProtoBinaryMode(t *testing.T) {
	e := newTestEvent()
	e.SetTime(testTime)
	e.SetSubject("w1")
	e.SetDataSchema("https://example.com/schema")
	if err := e.SetData("application/json", []byte(`{"b":1,"a":2}`)); err != nil {
		t.Fatal(err)
	}
	msg, err := ToProto(e)
	if err != nil {
		t.Fatal(err)
	}
	if msg.GetId() != "id-1" || msg.GetSource() != "cluster1-work-agent" || msg.GetSpecVersion() != "1.0" ||
		msg.GetType() != e.Type() {
		t.Errorf("fields 1-4 = %q %q %q %q", msg.GetId(), msg.GetSource(), msg.GetSpecVersion(), msg.GetType())
	}
	want := map[string]*pbv1.CloudEventAttributeValue{
		"contenttype":    str("application/json"),
		"ce-time":        timestamp(testTime),
		"ce-subject":     str("w1"),
		"ce-dataschema":  {Attr: &pbv1.CloudEventAttributeValue_CeUri{CeUri: "https://example.com/schema"}},
		"ce-clustername": str("cluster1"),
	}
	if !attributesEqual(msg.GetAttributes(), want) {
		t.Errorf("attributes = %v\nwant %v", msg.GetAttributes(), want)
	}
	if !bytes.Equal(msg.GetBinaryData(), []byte(`{"b":1,"a":2}`)) {
		t.Errorf("data not verbatim: %q", msg.GetBinaryData())
	}
}

func attributesEqual(got, want map[string]*pbv1.CloudEventAttributeValue) bool {
	return proto.Equal(&pbv1.CloudEvent{Attributes: got}, &pbv1.CloudEvent{Attributes: want})
}

func TestToProtoOmitsAbsentData(t *testing.T) {
	e := newTestEvent()
	msg, err := ToProto(e)
	if err != nil {
		t.Fatal(err)
	}
	if msg.GetData() != nil {
		t.Errorf("data = %v, want the oneof unset", msg.GetData())
	}
	if _, ok := msg.GetAttributes()[AttributeKeyContentType]; ok {
		t.Error("contenttype set without data")
	}
}

// Extension values are typed like sdk-go's writer does after CloudEvents validation.
func TestToProtoValueTyping(t *testing.T) {
	u, _ := url.Parse("https://example.com/a?b=c")
	ref, _ := url.Parse("/relative/ref")
	cases := []struct {
		name    string
		value   any
		want    *pbv1.CloudEventAttributeValue
		wantErr bool
	}{
		{"string", "v", str("v"), false},
		{"empty string kept", "", str(""), false},
		{"bool", true, &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeBoolean{CeBoolean: true}}, false},
		{"int", 7, integer(7), false},
		{"int64 in range", int64(math.MaxInt32), integer(math.MaxInt32), false},
		{"negative int64", int64(math.MinInt32), integer(math.MinInt32), false},
		{"uint8", uint8(200), integer(200), false},
		{"float64", 3.0, integer(3), false},
		{"int64 out of range", int64(math.MaxInt32) + 1, nil, true},
		{"uint64 out of range", uint64(math.MaxUint64), nil, true},
		{"float out of range", 1e12, nil, true},
		{"bytes", []byte{1, 2}, &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeBytes{CeBytes: []byte{1, 2}}}, false},
		{"time", testTime, timestamp(testTime), false},
		{"url", *u, &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeUri{CeUri: u.String()}}, false},
		{"uri ref", types.URIRef{URL: *ref}, &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeUriRef{CeUriRef: "/relative/ref"}}, false},
		{"unsupported type", struct{}{}, nil, true},
		{"nil", nil, nil, true},
		{"time outside the timestamp range", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEvent()
			// Bypass SetExtension so that values it would already reject reach the encoder.
			e.Context.(*event.EventContextV1).Extensions["x"] = tc.value
			msg, err := ToProto(e)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidAttribute) || !errors.Is(err, ErrInvalidEvent) {
					t.Fatalf("err = %v, want ErrInvalidAttribute and ErrInvalidEvent", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := msg.GetAttributes()["ce-x"]; !proto.Equal(got, tc.want) {
				t.Errorf("ce-x = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestToProtoRejects(t *testing.T) {
	cases := []struct {
		name  string
		event func() event.Event
		want  []error
	}{
		{"zero event", func() event.Event { return event.Event{} }, []error{ErrInvalidEvent}},
		{"spec version 0.3", func() event.Event {
			e := newTestEvent()
			e.SetSpecVersion(event.CloudEventsVersionV03)
			return e
		}, []error{ErrInvalidEvent, ErrUnsupportedSpecVersion}},
		{"no attributes or extensions", func() event.Event {
			e := event.New()
			e.SetID("id")
			e.SetSource("s")
			e.SetType("t")
			return e
		}, []error{ErrInvalidEvent, ErrUnknownEncoding}},
		{"missing source", func() event.Event {
			e := newTestEvent()
			e.SetSource("")
			return e
		}, []error{ErrInvalidEvent}},
		{"missing id", func() event.Event {
			e := newTestEvent()
			e.SetID("")
			return e
		}, []error{ErrInvalidEvent}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ToProto(tc.event())
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
		})
	}
}

func binaryMessage(attrs map[string]*pbv1.CloudEventAttributeValue) *pbv1.CloudEvent {
	return &pbv1.CloudEvent{
		Id:          "id-1",
		Source:      "cluster1",
		SpecVersion: "1.0",
		Type:        "coordination.k8s.io.v1.leases.spec.update_request",
		Attributes:  attrs,
	}
}

func TestFromProtoBinaryMode(t *testing.T) {
	ref, _ := url.Parse("../ref")
	msg := binaryMessage(map[string]*pbv1.CloudEventAttributeValue{
		"contenttype":     str("application/json"),
		"ce-time":         timestamp(testTime),
		"ce-subject":      str("lease"),
		"ce-dataschema":   {Attr: &pbv1.CloudEventAttributeValue_CeUri{CeUri: "https://example.com/s"}},
		"ce-clustername":  str("cluster1"),
		"ce-flag":         {Attr: &pbv1.CloudEventAttributeValue_CeBoolean{CeBoolean: true}},
		"ce-count":        integer(-3),
		"ce-blob":         {Attr: &pbv1.CloudEventAttributeValue_CeBytes{CeBytes: []byte("raw")}},
		"ce-link":         {Attr: &pbv1.CloudEventAttributeValue_CeUri{CeUri: "https://example.com/l"}},
		"ce-rel":          {Attr: &pbv1.CloudEventAttributeValue_CeUriRef{CeUriRef: "../ref"}},
		"ce-when":         timestamp(testTime),
		"CE-MixedCase":    str("m"),
		"unprefixed":      str("ignored"),
		"ce-":             str("ignored too"),
		"datacontenttype": str("ignored, only contenttype counts"),
	})
	msg.Data = &pbv1.CloudEvent_BinaryData{BinaryData: []byte(`{"kind":"Lease"}`)}

	e, err := FromProto(msg)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID() != "id-1" || e.Source() != "cluster1" || e.Type() != msg.GetType() || e.SpecVersion() != "1.0" {
		t.Errorf("context = %v", e.Context)
	}
	if e.DataContentType() != "application/json" || e.Subject() != "lease" ||
		e.DataSchema() != "https://example.com/s" || !e.Time().Equal(testTime) {
		t.Errorf("optional attributes = %v", e.Context)
	}
	wantExt := map[string]any{
		"clustername": "cluster1",
		"flag":        true,
		"count":       int32(-3),
		"blob":        []byte("raw"),
		"link":        types.URI{URL: url.URL{Scheme: "https", Host: "example.com", Path: "/l"}},
		"rel":         types.URIRef{URL: *ref},
		"when":        types.Timestamp{Time: testTime},
		"mixedcase":   "m",
	}
	if got := e.Extensions(); !extensionsEqual(got, wantExt) {
		t.Errorf("extensions = %#v\nwant %#v", got, wantExt)
	}
	if string(e.Data()) != `{"kind":"Lease"}` {
		t.Errorf("data = %q", e.Data())
	}
}

func extensionsEqual(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			return false
		}
		gs, err1 := types.Format(g)
		ws, err2 := types.Format(w)
		if err1 != nil || err2 != nil || gs != ws {
			return false
		}
		if _, err := types.Validate(g); err != nil {
			return false
		}
	}
	return true
}

// Only binary_data carries data; empty data counts as none.
func TestFromProtoData(t *testing.T) {
	anyData, _ := anypb.New(timestamppb.Now())
	cases := []struct {
		name    string
		setData func(*pbv1.CloudEvent)
		want    []byte
	}{
		{"binary", func(m *pbv1.CloudEvent) { m.Data = &pbv1.CloudEvent_BinaryData{BinaryData: []byte("x")} }, []byte("x")},
		{"empty binary", func(m *pbv1.CloudEvent) { m.Data = &pbv1.CloudEvent_BinaryData{BinaryData: []byte{}} }, nil},
		{"text ignored", func(m *pbv1.CloudEvent) { m.Data = &pbv1.CloudEvent_TextData{TextData: "t"} }, nil},
		{"proto ignored", func(m *pbv1.CloudEvent) { m.Data = &pbv1.CloudEvent_ProtoData{ProtoData: anyData} }, nil},
		{"none", func(*pbv1.CloudEvent) {}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := binaryMessage(map[string]*pbv1.CloudEventAttributeValue{"ce-clustername": str("c")})
			tc.setData(msg)
			e, err := FromProto(msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(e.Data(), tc.want) {
				t.Errorf("data = %q, want %q", e.Data(), tc.want)
			}
		})
	}
}

func TestFromProtoStructuredMode(t *testing.T) {
	structured := func(contentType, body string) *pbv1.CloudEvent {
		return &pbv1.CloudEvent{
			// Fields 1-4 and other attributes are ignored in structured mode.
			Id:          "ignored",
			SpecVersion: "9.9",
			Type:        "ignored",
			Attributes: map[string]*pbv1.CloudEventAttributeValue{
				"contenttype":    str(contentType),
				"ce-clustername": str("ignored"),
			},
			Data: &pbv1.CloudEvent_BinaryData{BinaryData: []byte(body)},
		}
	}
	const body = `{"specversion":"1.0","id":"s-1","source":"cluster1","type":"events.k8s.io.v1.events.spec.create_request",` +
		`"clustername":"cluster2","datacontenttype":"application/json","data":{"a":1}}`

	e, err := FromProto(structured("application/cloudevents+json; charset=utf-8", body))
	if err != nil {
		t.Fatal(err)
	}
	if e.ID() != "s-1" || e.Source() != "cluster1" || e.Type() != "events.k8s.io.v1.events.spec.create_request" {
		t.Errorf("context = %v", e.Context)
	}
	if c, _ := ClusterName(e); c != "cluster2" {
		t.Errorf("clustername = %q, want the one inside the structured event", c)
	}
	if string(e.Data()) != `{"a":1}` {
		t.Errorf("data = %q", e.Data())
	}

	errCases := []struct {
		name        string
		contentType string
		body        string
		want        []error
	}{
		{"batch format", "application/cloudevents-batch+json", "[" + body + "]", []error{ErrUnknownEncoding}},
		{"unknown format", "application/cloudevents+xml", "<e/>", []error{ErrUnknownEncoding}},
		{"spec version 0.3 inside", "application/cloudevents+json",
			`{"specversion":"0.3","id":"1","source":"s","type":"t","clustername":"c"}`, []error{ErrUnsupportedSpecVersion}},
		{"malformed JSON", "application/cloudevents+json", `{"specversion":`, nil},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromProto(structured(tc.contentType, tc.body))
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("err = %v, want ErrInvalidEvent", err)
			}
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
		})
	}
}

func TestFromProtoRejects(t *testing.T) {
	withAttr := func(key string, v *pbv1.CloudEventAttributeValue) *pbv1.CloudEvent {
		return binaryMessage(map[string]*pbv1.CloudEventAttributeValue{"ce-clustername": str("c"), key: v})
	}
	withVersion := func(v string) *pbv1.CloudEvent {
		m := binaryMessage(map[string]*pbv1.CloudEventAttributeValue{"ce-clustername": str("c")})
		m.SpecVersion = v
		return m
	}
	cases := []struct {
		name string
		msg  *pbv1.CloudEvent
		want []error
	}{
		{"nil message", nil, nil},
		{"nil attributes", binaryMessage(nil), []error{ErrUnknownEncoding}},
		{"empty attributes", binaryMessage(map[string]*pbv1.CloudEventAttributeValue{}), []error{ErrUnknownEncoding}},
		{"spec version 0.3", withVersion("0.3"), []error{ErrUnknownEncoding, ErrUnsupportedSpecVersion}},
		{"spec version empty", withVersion(""), []error{ErrUnknownEncoding, ErrUnsupportedSpecVersion}},
		{"ce-specversion overrides to 0.3", withAttr("ce-specversion", str("0.3")), []error{ErrUnsupportedSpecVersion}},
		{"attribute without value", withAttr("ce-x", &pbv1.CloudEventAttributeValue{}), []error{ErrInvalidAttribute}},
		{"nil attribute value", withAttr("ce-x", nil), []error{ErrInvalidAttribute}},
		{"invalid timestamp", withAttr("ce-x", &pbv1.CloudEventAttributeValue{
			Attr: &pbv1.CloudEventAttributeValue_CeTimestamp{CeTimestamp: &timestamppb.Timestamp{Nanos: -1}}}), []error{ErrInvalidAttribute}},
		{"nil timestamp", withAttr("ce-x", &pbv1.CloudEventAttributeValue{
			Attr: &pbv1.CloudEventAttributeValue_CeTimestamp{}}), []error{ErrInvalidAttribute}},
		{"unparsable uri", withAttr("ce-x", &pbv1.CloudEventAttributeValue{
			Attr: &pbv1.CloudEventAttributeValue_CeUri{CeUri: "%zz"}}), []error{ErrInvalidAttribute}},
		{"time as integer", withAttr("ce-time", integer(5)), []error{ErrInvalidAttribute}},
		{"subject as integer", withAttr("ce-subject", integer(5)), []error{ErrInvalidAttribute}},
		{"contenttype as integer", withAttr("contenttype", integer(5)), []error{ErrInvalidAttribute}},
		{"extension name with a dash", withAttr("ce-bad-name", str("v")), []error{ErrInvalidAttribute}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromProto(tc.msg)
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("err = %v, want ErrInvalidEvent", err)
			}
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
		})
	}
}

// ce-time may arrive as an RFC 3339 string; sdk-go accepts it.
func TestFromProtoTimeAsString(t *testing.T) {
	e, err := FromProto(binaryMessage(map[string]*pbv1.CloudEventAttributeValue{
		"ce-time": str("2026-01-02T03:04:05.0000006Z"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !e.Time().Equal(testTime) {
		t.Errorf("time = %v", e.Time())
	}
}

func TestRoundTripProtoEventProto(t *testing.T) {
	msg := binaryMessage(map[string]*pbv1.CloudEventAttributeValue{
		"contenttype":          str("application/json"),
		"ce-time":              timestamp(testTime),
		"ce-clustername":       str("cluster1"),
		"ce-resourceversion":   integer(4),
		"ce-deletiontimestamp": timestamp(testTime),
		"ce-flag":              {Attr: &pbv1.CloudEventAttributeValue_CeBoolean{CeBoolean: false}},
		"ce-blob":              {Attr: &pbv1.CloudEventAttributeValue_CeBytes{CeBytes: []byte{0}}},
		"ce-link":              {Attr: &pbv1.CloudEventAttributeValue_CeUri{CeUri: "https://example.com/x?y=z"}},
		"ce-rel":               {Attr: &pbv1.CloudEventAttributeValue_CeUriRef{CeUriRef: "#frag"}},
		"ce-dataschema":        {Attr: &pbv1.CloudEventAttributeValue_CeUri{CeUri: "https://example.com/s"}},
		"ce-subject":           str("s"),
	})
	msg.Data = &pbv1.CloudEvent_BinaryData{BinaryData: []byte(`{}`)}
	e, err := FromProto(msg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ToProto(e)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(out, msg) {
		t.Errorf("round trip changed the message:\n got %v\nwant %v", out, msg)
	}
}

func TestRoundTripEventProtoEvent(t *testing.T) {
	e := newTestEvent()
	e.SetTime(testTime)
	SetOriginalSource(&e, "")
	SetResourceID(&e, "uid-1")
	if err := SetResourceVersionInt(&e, 3); err != nil {
		t.Fatal(err)
	}
	SetDeletionTimestamp(&e, testTime)
	if err := e.SetData("application/json", map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	msg, err := ToProto(e)
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromProto(msg)
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != e.String() {
		t.Errorf("round trip changed the event:\n got %s\nwant %s", back, e)
	}
}
