package bus_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
)

const (
	manifestBundleStatusUpdate = "io.open-cluster-management.works.v1alpha1.manifestbundles.status.update_request"
	managedClusterStatusUpdate = "cluster.open-cluster-management.io.v1.managedclusters.status.update_request"
	manifestBundleSpecUpdate   = "io.open-cluster-management.works.v1alpha1.manifestbundles.spec.update_request"
)

var testTime = time.Date(2026, 11, 27, 10, 11, 12, 123456789, time.UTC)

func newEvent(t testing.TB, eventType string) event.Event {
	t.Helper()
	evt := event.New()
	evt.SetID("6f0c2a44-7f1e-4d8e-9d3c-6a1f0b3c2d1e")
	evt.SetSource("cluster1-work-agent")
	evt.SetType(eventType)
	evt.SetTime(testTime)
	evt.SetExtension("clustername", "cluster1")
	return evt
}

// manifestBundleStatus is a work-agent status update as protocol.md section 1.3 shows it.
func manifestBundleStatus(t testing.TB) event.Event {
	t.Helper()
	evt := newEvent(t, manifestBundleStatusUpdate)
	evt.SetExtension("originalsource", "kube")
	evt.SetExtension("resourceid", "2b2d6c2c-0e53-4c8c-9a43-0f4f1b9f6a10")
	evt.SetExtension("resourceversion", int64(3))
	evt.SetExtension("sequenceid", "1790000000000000001")
	evt.SetExtension("statushash", "0f3d9bbd0bd1d4ad1ba2e1e5e9c2d7fb9f1c5b0e2ce7f6d3c2a1b0e9d8c7b6a5")
	evt.SetExtension("metadata", `{"name":"w1","namespace":"cluster1","generation":3}`)
	evt.SetExtension("logtracing", "{}")
	if err := evt.SetData("application/json", map[string]any{"conditions": []any{}}); err != nil {
		t.Fatal(err)
	}
	return evt
}

// roundTrip sends evt through a real NATS server and decodes what arrives.
func roundTrip(t *testing.T, nc *nats.Conn, evt event.Event) (*nats.Msg, *event.Event) {
	t.Helper()
	subject, err := bus.PushSubject("cluster1", "manifestbundles")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := bus.Publish(nc, subject, evt); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("NextMsg: %v", err)
	}
	got, err := bus.EventFromMsg(msg)
	if err != nil {
		t.Fatalf("EventFromMsg: %v (headers %v)", err, msg.Header)
	}
	return msg, got
}

// assertSameEvent compares everything but DataBase64, which only says how the JSON format
// would print the data; binary mode carries the same bytes either way.
func assertSameEvent(t *testing.T, got *event.Event, want event.Event) {
	t.Helper()
	gotCopy := got.Clone()
	gotCopy.DataBase64, want.DataBase64 = false, false
	if !reflect.DeepEqual(gotCopy, want) {
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		t.Fatalf("event changed in transit\n got: %s\nwant: %s\n got ext: %#v\nwant ext: %#v",
			gotJSON, wantJSON, got.Extensions(), want.Extensions())
	}
}

func TestBindingKeepsIntegerAndStringResourceVersion(t *testing.T) {
	nc := connect(t, startNATS(t))

	work := manifestBundleStatus(t)
	msg, got := roundTrip(t, nc, work)
	assertSameEvent(t, got, work)
	if rv, ok := got.Extensions()["resourceversion"].(int32); !ok || rv != 3 {
		t.Fatalf("manifestbundles resourceversion = %#v, want int32(3)", got.Extensions()["resourceversion"])
	}
	if h := msg.Header.Get("ce-resourceversion"); h != "3" {
		t.Fatalf("ce-resourceversion header = %q, want 3", h)
	}
	if h := msg.Header.Get(bus.HeaderExtensionTypes); h != "resourceversion=Integer" {
		t.Fatalf("%s header = %q", bus.HeaderExtensionTypes, h)
	}

	cluster := newEvent(t, managedClusterStatusUpdate)
	cluster.SetExtension("resourceversion", "12")
	cluster.SetExtension("originalsource", "")
	if err := cluster.SetData("application/json", map[string]any{"kind": "ManagedCluster"}); err != nil {
		t.Fatal(err)
	}
	msg, got = roundTrip(t, nc, cluster)
	assertSameEvent(t, got, cluster)
	if rv, ok := got.Extensions()["resourceversion"].(string); !ok || rv != "12" {
		t.Fatalf("managedclusters resourceversion = %#v, want string \"12\"", got.Extensions()["resourceversion"])
	}
	if os, ok := got.Extensions()["originalsource"].(string); !ok || os != "" {
		t.Fatalf("empty originalsource = %#v, want \"\"", got.Extensions()["originalsource"])
	}
	if _, typed := msg.Header[bus.HeaderExtensionTypes]; typed {
		t.Fatalf("string-only event carries %s: %v", bus.HeaderExtensionTypes, msg.Header)
	}
}

func TestBindingWireHeaders(t *testing.T) {
	nc := connect(t, startNATS(t))
	evt := manifestBundleStatus(t)
	msg, _ := roundTrip(t, nc, evt)
	want := map[string]string{
		"ce-specversion":    "1.0",
		"ce-id":             evt.ID(),
		"ce-source":         "cluster1-work-agent",
		"ce-type":           manifestBundleStatusUpdate,
		"ce-time":           "2026-11-27T10:11:12.123456789Z",
		"ce-clustername":    "cluster1",
		"ce-originalsource": "kube",
		"ce-metadata":       `{"name":"w1","namespace":"cluster1","generation":3}`,
		"content-type":      "application/json",
	}
	for key, value := range want {
		if got := msg.Header.Get(key); got != value {
			t.Errorf("header %s = %q, want %q", key, got, value)
		}
	}
	if string(msg.Data) != `{"conditions":[]}` {
		t.Errorf("body = %s", msg.Data)
	}
	if _, ok := msg.Header["ce-datacontenttype"]; ok {
		t.Error("datacontenttype must travel as content-type only")
	}
}

func TestBindingEveryAttributeType(t *testing.T) {
	nc := connect(t, startNATS(t))
	schema, _ := url.Parse("https://example.com/schema.json")
	ref, _ := url.Parse("/relative/ref?x=1")

	full := newEvent(t, manifestBundleSpecUpdate)
	full.SetSubject("works/w1")
	full.SetDataSchema(schema.String())
	full.SetExtension("flag", true)
	full.SetExtension("count", int32(-7))
	full.SetExtension("blob", []byte{0, 1, 2, 0xff})
	full.SetExtension("link", types.URI{URL: *schema})
	full.SetExtension("ref", types.URIRef{URL: *ref})
	full.SetExtension("deletiontimestamp", testTime.Add(time.Hour))
	full.SetExtension("text", "plain")
	full.SetExtension("multiline", "line1\r\nline2\n")
	full.SetExtension("padded", "  padded\t")
	full.SetExtension("percent", "100%25 done")
	full.SetExtension("unicode", "日本 ✓")
	if err := full.SetData("application/json", map[string]any{"manifests": []any{}}); err != nil {
		t.Fatal(err)
	}

	noData := newEvent(t, manifestBundleSpecUpdate)
	noData.SetExtension("deletiontimestamp", testTime)
	noData.SetExtension("resourceversion", 1)

	binaryData := newEvent(t, manifestBundleSpecUpdate)
	binaryData.SetSubject("works/w1\nnext line")
	if err := binaryData.SetData("application/octet-stream", []byte("\x00raw\r\n")); err != nil {
		t.Fatal(err)
	}

	v03 := newEvent(t, manifestBundleSpecUpdate)
	v03.SetSpecVersion(event.CloudEventsVersionV03)
	v03.SetExtension("resourceversion", 5)

	for name, evt := range map[string]event.Event{"all types": full, "no data": noData, "binary data": binaryData, "v0.3": v03} {
		t.Run(name, func(t *testing.T) {
			_, got := roundTrip(t, nc, evt)
			assertSameEvent(t, got, evt)
		})
	}
	msg, got := roundTrip(t, nc, full)
	if h := msg.Header.Get(bus.HeaderEscaped); h != "multiline,padded" {
		t.Fatalf("%s = %q, want only the values NATS headers cannot carry", bus.HeaderEscaped, h)
	}
	if h := msg.Header.Get(bus.HeaderExtensionTypes); h != "blob=Binary,count=Integer,deletiontimestamp=Timestamp,flag=Boolean,link=URI,ref=URI-reference" {
		t.Fatalf("%s = %q", bus.HeaderExtensionTypes, h)
	}
	ts, ok := got.Extensions()["deletiontimestamp"].(types.Timestamp)
	if !ok || !ts.Time.Equal(testTime.Add(time.Hour)) {
		t.Fatalf("deletiontimestamp = %#v", got.Extensions()["deletiontimestamp"])
	}
	if !got.Time().Equal(testTime) {
		t.Fatalf("time = %v, want %v", got.Time(), testTime)
	}
}

// TestBindingReadsForeignMessages decodes messages written by other CloudEvents NATS
// producers: plain binary mode without conductor headers, canonicalised header names, and
// structured mode.
func TestBindingReadsForeignMessages(t *testing.T) {
	binary := nats.NewMsg("conductor.push.cluster1.leases")
	for key, value := range map[string]string{
		"Ce-Specversion":     "1.0",
		"Ce-Id":              "id-1",
		"Ce-Source":          "elsewhere",
		"Ce-Type":            "coordination.k8s.io.v1.leases.spec.update_request",
		"Ce-Time":            "2026-11-27T10:11:12Z",
		"Ce-Resourceversion": "42",
		"Content-Type":       "application/json",
		"Other":              "ignored",
	} {
		binary.Header.Set(key, value)
	}
	binary.Data = []byte(`{"spec":{}}`)
	evt, err := bus.EventFromMsg(binary)
	if err != nil {
		t.Fatalf("binary: %v", err)
	}
	if evt.ID() != "id-1" || evt.DataContentType() != "application/json" || string(evt.Data()) != `{"spec":{}}` {
		t.Fatalf("binary decoded wrongly: %v", evt)
	}
	if rv := evt.Extensions()["resourceversion"]; rv != "42" {
		t.Fatalf("untyped extension = %#v, want the string \"42\"", rv)
	}
	if _, ok := evt.Extensions()["other"]; ok {
		t.Fatal("non-ce header became an extension")
	}

	source := newEvent(t, manifestBundleSpecUpdate)
	source.SetExtension("resourceversion", 9)
	body, err := json.Marshal(source)
	if err != nil {
		t.Fatal(err)
	}
	structured := nats.NewMsg("conductor.push.cluster1.manifestbundles")
	structured.Header.Set("content-type", "application/cloudevents+json")
	structured.Data = body
	evt, err = bus.EventFromMsg(structured)
	if err != nil {
		t.Fatalf("structured: %v", err)
	}
	if evt.ID() != source.ID() || evt.Type() != source.Type() {
		t.Fatalf("structured decoded wrongly: %v", evt)
	}
}

func TestBindingRejectsMalformedMessages(t *testing.T) {
	valid := func() *nats.Msg {
		msg, err := bus.EventToMsg("s", manifestBundleStatus(t))
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	cases := map[string]func(*nats.Msg){
		"no headers":             func(m *nats.Msg) { m.Header = nil },
		"no specversion":         func(m *nats.Msg) { m.Header.Del("ce-specversion") },
		"unknown specversion":    func(m *nats.Msg) { m.Header.Set("ce-specversion", "9.9") },
		"missing id":             func(m *nats.Msg) { m.Header.Del("ce-id") },
		"bad time":               func(m *nats.Msg) { m.Header.Set("ce-time", "yesterday") },
		"unknown extension type": func(m *nats.Msg) { m.Header.Set(bus.HeaderExtensionTypes, "resourceversion=Float") },
		"integer not a number":   func(m *nats.Msg) { m.Header.Set("ce-resourceversion", "three") },
		"two values":             func(m *nats.Msg) { m.Header.Add("ce-clustername", "other") },
		"bad escape":             func(m *nats.Msg) { m.Header.Set(bus.HeaderEscaped, "metadata"); m.Header.Set("ce-metadata", "%zz") },
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			msg := valid()
			corrupt(msg)
			if evt, err := bus.EventFromMsg(msg); err == nil {
				t.Fatalf("decoded %v, want error", evt)
			}
		})
	}
	invalid := event.New()
	if _, err := bus.EventToMsg("s", invalid); err == nil {
		t.Fatal("EventToMsg accepted an event without id, source and type")
	}
}
