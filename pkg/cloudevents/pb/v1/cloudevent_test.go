package pbv1

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The descriptor must match protocol.md 1.1-1.2 field by field: agents are compiled against
// sdk-go's copy of this file.
func TestDescriptorMatchesProtocol(t *testing.T) {
	type field struct {
		number protoreflect.FieldNumber
		kind   protoreflect.Kind
		oneof  string
	}
	want := map[protoreflect.FullName]map[protoreflect.Name]field{
		"io.cloudevents.v1.CloudEvent": {
			"id":           {1, protoreflect.StringKind, ""},
			"source":       {2, protoreflect.StringKind, ""},
			"spec_version": {3, protoreflect.StringKind, ""},
			"type":         {4, protoreflect.StringKind, ""},
			"attributes":   {5, protoreflect.MessageKind, ""},
			"binary_data":  {6, protoreflect.BytesKind, "data"},
			"text_data":    {7, protoreflect.StringKind, "data"},
			"proto_data":   {8, protoreflect.MessageKind, "data"},
		},
		"io.cloudevents.v1.CloudEventAttributeValue": {
			"ce_boolean":   {1, protoreflect.BoolKind, "attr"},
			"ce_integer":   {2, protoreflect.Int32Kind, "attr"},
			"ce_string":    {3, protoreflect.StringKind, "attr"},
			"ce_bytes":     {4, protoreflect.BytesKind, "attr"},
			"ce_uri":       {5, protoreflect.StringKind, "attr"},
			"ce_uri_ref":   {6, protoreflect.StringKind, "attr"},
			"ce_timestamp": {7, protoreflect.MessageKind, "attr"},
		},
		"io.cloudevents.v1.PublishRequest": {
			"event": {1, protoreflect.MessageKind, ""},
		},
		"io.cloudevents.v1.SubscriptionRequest": {
			"source":       {1, protoreflect.StringKind, ""},
			"cluster_name": {2, protoreflect.StringKind, ""},
			"data_type":    {3, protoreflect.StringKind, ""},
		},
	}
	msgs := File_cloudevent_proto.Messages()
	if msgs.Len() != len(want) {
		t.Errorf("%d messages, want %d", msgs.Len(), len(want))
	}
	for name, fields := range want {
		md := msgs.ByName(name.Name())
		if md == nil || md.FullName() != name {
			t.Errorf("message %s missing", name)
			continue
		}
		if md.Fields().Len() != len(fields) {
			t.Errorf("%s has %d fields, want %d", name, md.Fields().Len(), len(fields))
		}
		for fname, w := range fields {
			fd := md.Fields().ByName(fname)
			if fd == nil {
				t.Errorf("%s.%s missing", name, fname)
				continue
			}
			oneof := ""
			if o := fd.ContainingOneof(); o != nil {
				oneof = string(o.Name())
			}
			if fd.Number() != w.number || fd.Kind() != w.kind || oneof != w.oneof {
				t.Errorf("%s.%s = #%d %v oneof %q, want #%d %v oneof %q", name, fname, fd.Number(), fd.Kind(), oneof, w.number, w.kind, w.oneof)
			}
		}
	}
	attrs := msgs.ByName("CloudEvent").Fields().ByName("attributes")
	if !attrs.IsMap() || attrs.MapKey().Kind() != protoreflect.StringKind ||
		attrs.MapValue().Message().FullName() != "io.cloudevents.v1.CloudEventAttributeValue" {
		t.Error("attributes is not map<string, CloudEventAttributeValue>")
	}
	if ts := msgs.ByName("CloudEventAttributeValue").Fields().ByName("ce_timestamp").Message().FullName(); ts != "google.protobuf.Timestamp" {
		t.Errorf("ce_timestamp is %s", ts)
	}
}

func TestServiceMatchesProtocol(t *testing.T) {
	sd := File_cloudevent_proto.Services().ByName("CloudEventService")
	if sd == nil || sd.FullName() != "io.cloudevents.v1.CloudEventService" {
		t.Fatal("service io.cloudevents.v1.CloudEventService missing")
	}
	publish, subscribe := sd.Methods().ByName("Publish"), sd.Methods().ByName("Subscribe")
	if publish == nil || publish.Input().FullName() != "io.cloudevents.v1.PublishRequest" ||
		publish.Output().FullName() != "google.protobuf.Empty" || publish.IsStreamingClient() || publish.IsStreamingServer() {
		t.Error("Publish is not unary PublishRequest -> google.protobuf.Empty")
	}
	if subscribe == nil || subscribe.Input().FullName() != "io.cloudevents.v1.SubscriptionRequest" ||
		subscribe.Output().FullName() != "io.cloudevents.v1.CloudEvent" || subscribe.IsStreamingClient() || !subscribe.IsStreamingServer() {
		t.Error("Subscribe is not server-streaming SubscriptionRequest -> stream CloudEvent")
	}
	if CloudEventService_Publish_FullMethodName != "/io.cloudevents.v1.CloudEventService/Publish" ||
		CloudEventService_Subscribe_FullMethodName != "/io.cloudevents.v1.CloudEventService/Subscribe" {
		t.Error("full method names differ from the wire")
	}
}
