package bus_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
)

var workResource = schema.GroupResource{Group: "work.open-cluster-management.io", Resource: "manifestworks"}

func encodeDecode(t *testing.T, r bus.Reply) bus.Reply {
	t.Helper()
	body, err := bus.EncodeReply(r)
	if err != nil {
		t.Fatalf("EncodeReply: %v", err)
	}
	got, err := bus.DecodeReply(body)
	if err != nil {
		t.Fatalf("DecodeReply(%s): %v", body, err)
	}
	return got
}

func TestReplyOK(t *testing.T) {
	for _, r := range []bus.Reply{bus.ReplyOK(), bus.ReplyStatus(nil), bus.ReplyError(nil),
		bus.ReplyStatus(&metav1.Status{Status: metav1.StatusSuccess})} {
		got := encodeDecode(t, r)
		if !got.OK() || got.Err() != nil || bus.StatusFromReply(got) != nil {
			t.Fatalf("reply %+v is not OK after a round trip: %+v", r, got)
		}
	}
	if body, _ := bus.EncodeReply(bus.ReplyOK()); string(body) != "{}" {
		t.Fatalf("OK reply body = %s, want {}", body)
	}
}

func TestReplyKeepsKubernetesStatus(t *testing.T) {
	conflict := apierrors.NewConflict(workResource, "w1", errors.New("the object has been modified"))
	got := encodeDecode(t, bus.ReplyError(fmt.Errorf("update status: %w", conflict)))
	if got.OK() {
		t.Fatal("conflict reply is OK")
	}
	if !apierrors.IsConflict(got.Err()) {
		t.Fatalf("Err() = %v, want a Conflict", got.Err())
	}
	if st := bus.StatusFromReply(got); !reflect.DeepEqual(*st, conflict.ErrStatus) {
		t.Fatalf("status = %+v, want %+v", st, conflict.ErrStatus)
	}
	// What the gateway puts in the gRPC FailedPrecondition message.
	body, err := json.Marshal(got.Err())
	if err != nil {
		t.Fatal(err)
	}
	var wire struct {
		ErrStatus metav1.Status
	}
	if err := json.Unmarshal(body, &wire); err != nil || wire.ErrStatus.Code != http.StatusConflict ||
		wire.ErrStatus.Reason != metav1.StatusReasonConflict {
		t.Fatalf("gateway message %s (%v) does not carry the Conflict status", body, err)
	}

	notFound := apierrors.NewNotFound(workResource, "w2")
	if got := encodeDecode(t, bus.ReplyStatus(&notFound.ErrStatus)); !apierrors.IsNotFound(got.Err()) {
		t.Fatalf("ReplyStatus(NotFound).Err() = %v", got.Err())
	}
}

func TestReplyErrorMakesPlainErrorsInternal(t *testing.T) {
	got := encodeDecode(t, bus.ReplyError(errors.New("database is on fire")))
	st := bus.StatusFromReply(got)
	if st == nil || st.Code != http.StatusInternalServerError || st.Reason != metav1.StatusReasonInternalError {
		t.Fatalf("status = %+v, want InternalError 500", st)
	}
	if !strings.Contains(st.Message, "database is on fire") {
		t.Fatalf("message %q lost the cause", st.Message)
	}
}

func TestReplyOwnedResourceIDs(t *testing.T) {
	ids := []string{"uid-1", "uid-2"}
	got := encodeDecode(t, bus.ReplyOwned(ids))
	if !got.OK() || !reflect.DeepEqual(got.OwnedResourceIDs, ids) {
		t.Fatalf("reply = %+v, want OK owning %v", got, ids)
	}
}

func TestDecodeReplyRejectsGarbage(t *testing.T) {
	for _, body := range []string{"", "not json", `{"status":"nope"}`} {
		if r, err := bus.DecodeReply([]byte(body)); err == nil {
			t.Errorf("DecodeReply(%q) = %+v, want error", body, r)
		}
	}
}
