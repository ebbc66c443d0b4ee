package cloudevents

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"google.golang.org/protobuf/proto"

	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
)

// eventWith decodes a wire message carrying one extra attribute, so values have exactly the Go
// types sdk-go decoding produces.
func eventWith(t *testing.T, key string, v *pbv1.CloudEventAttributeValue) event.Event {
	t.Helper()
	e, err := FromProto(binaryMessage(map[string]*pbv1.CloudEventAttributeValue{"ce-other": str("x"), key: v}))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestStringExtensions(t *testing.T) {
	getters := map[string]func(event.Event) (string, error){
		ExtClusterName:     ClusterName,
		ExtResourceID:      ResourceID,
		ExtOriginalSource:  OriginalSource,
		ExtSequenceID:      SequenceID,
		ExtStatusHash:      StatusHash,
		ExtMetadata:        Metadata,
		ExtLogTracing:      LogTracing,
		ExtResourceVersion: ResourceVersionString,
	}
	for name, get := range getters {
		t.Run(name, func(t *testing.T) {
			if v, err := get(eventWith(t, "ce-"+name, str("v1"))); err != nil || v != "v1" {
				t.Errorf("string value = %q, %v", v, err)
			}
			if v, err := get(eventWith(t, "ce-"+name, str(""))); err != nil || v != "" {
				t.Errorf("empty string value = %q, %v", v, err)
			}
			// Receivers fail on an integer where a string is required.
			if _, err := get(eventWith(t, "ce-"+name, integer(1))); !errors.Is(err, ErrInvalidExtension) {
				t.Errorf("integer value: err = %v, want ErrInvalidExtension", err)
			}
			if _, err := get(eventWith(t, "ce-unrelated", str("v"))); !errors.Is(err, ErrMissingExtension) {
				t.Errorf("absent: err = %v, want ErrMissingExtension", err)
			}
			if _, err := get(event.Event{}); !errors.Is(err, ErrMissingExtension) {
				t.Errorf("zero event: err = %v, want ErrMissingExtension", err)
			}
		})
	}
}

func TestResourceVersionInt(t *testing.T) {
	cases := []struct {
		name    string
		value   *pbv1.CloudEventAttributeValue
		want    int64
		wantErr error
	}{
		{"ce_integer", integer(3), 3, nil},
		{"decimal string", str("42"), 42, nil},
		{"int64 decimal string", str("9223372036854775807"), math.MaxInt64, nil},
		{"not a number", str("4x"), 0, ErrInvalidExtension},
		{"float string", str("1.5"), 0, ErrInvalidExtension},
		{"boolean", &pbv1.CloudEventAttributeValue{Attr: &pbv1.CloudEventAttributeValue_CeBoolean{CeBoolean: true}}, 0, ErrInvalidExtension},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResourceVersionInt(eventWith(t, "ce-resourceversion", tc.value))
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("ResourceVersionInt = %d, %v; want %d, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
	if _, err := ResourceVersionInt(newTestEvent()); !errors.Is(err, ErrMissingExtension) {
		t.Errorf("absent: %v", err)
	}
}

func TestResourceVersionNumber(t *testing.T) {
	cases := []struct {
		name    string
		value   *pbv1.CloudEventAttributeValue
		format  ResourceVersionFormat
		want    int64
		wantErr error
	}{
		{"integer format, ce_integer", integer(7), ResourceVersionInteger, 7, nil},
		{"integer format, decimal string", str("7"), ResourceVersionInteger, 7, nil},
		{"string format, decimal string", str("1501"), ResourceVersionDecimalString, 1501, nil},
		{"string format rejects ce_integer", integer(7), ResourceVersionDecimalString, 0, ErrInvalidExtension},
		{"string format needs a number", str("abc"), ResourceVersionDecimalString, 0, ErrInvalidExtension},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResourceVersionNumber(eventWith(t, "ce-resourceversion", tc.value), tc.format)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("ResourceVersionNumber = %d, %v; want %d, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestDeletionTimestamp(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 10, 5, 0, time.UTC)
	cases := []struct {
		name    string
		value   *pbv1.CloudEventAttributeValue
		wantErr error
	}{
		{"ce_timestamp", timestamp(at), nil},
		{"RFC 3339 string", str("2026-01-02T03:10:05Z"), nil},
		{"RFC 3339 string with offset", str("2026-01-02T04:10:05+01:00"), nil},
		{"bad string", str("yesterday"), ErrInvalidExtension},
		{"integer", integer(5), ErrInvalidExtension},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DeletionTimestamp(eventWith(t, "ce-deletiontimestamp", tc.value))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && !got.Equal(at) {
				t.Errorf("DeletionTimestamp = %v, want %v", got, at)
			}
		})
	}
	if HasExtension(newTestEvent(), ExtDeletionTimestamp) {
		t.Error("HasExtension reports an absent deletiontimestamp")
	}
	if _, err := DeletionTimestamp(newTestEvent()); !errors.Is(err, ErrMissingExtension) {
		t.Errorf("absent: %v", err)
	}
}

// Setters produce the wire types receivers expect.
func TestSettersWireTypes(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 10, 5, 0, time.UTC)
	e := newTestEvent()
	SetResourceID(&e, "uid")
	SetOriginalSource(&e, "")
	SetSequenceID(&e, "1790")
	SetStatusHash(&e, "abc")
	SetMetadata(&e, `{"name":"w1"}`)
	SetLogTracing(&e, `{}`)
	SetDeletionTimestamp(&e, at)
	if err := SetResourceVersionInt(&e, 9); err != nil {
		t.Fatal(err)
	}
	msg, err := ToProto(e)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*pbv1.CloudEventAttributeValue{
		"ce-clustername":       str("cluster1"),
		"ce-resourceid":        str("uid"),
		"ce-originalsource":    str(""),
		"ce-sequenceid":        str("1790"),
		"ce-statushash":        str("abc"),
		"ce-metadata":          str(`{"name":"w1"}`),
		"ce-logtracing":        str(`{}`),
		"ce-deletiontimestamp": timestamp(at),
		"ce-resourceversion":   integer(9),
	}
	if !attributesEqual(msg.GetAttributes(), want) {
		t.Errorf("attributes = %v\nwant %v", msg.GetAttributes(), want)
	}

	SetResourceVersionString(&e, "1501")
	msg, err = ToProto(e)
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.GetAttributes()["ce-resourceversion"]; !proto.Equal(got, str("1501")) {
		t.Errorf("string resourceversion on the wire = %v", got)
	}
}

func TestSetResourceVersionIntRange(t *testing.T) {
	for _, v := range []int64{math.MaxInt32 + 1, math.MinInt32 - 1} {
		e := newTestEvent()
		if err := SetResourceVersionInt(&e, v); !errors.Is(err, ErrInvalidExtension) {
			t.Errorf("SetResourceVersionInt(%d) = %v, want ErrInvalidExtension", v, err)
		}
		if HasExtension(e, ExtResourceVersion) {
			t.Errorf("SetResourceVersionInt(%d) set a value despite failing", v)
		}
	}
}

// After a string-only hop the re-encoded event must be byte-identical to what sdk-go sent.
