package gateway_test

import (
	"encoding/json"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/gateway"
)

// resyncRequest is the work agent's golden resync request with its cache replaced by versions.
func resyncRequest(t *testing.T, golden string, versions map[string]int64) *pbv1.PublishRequest {
	t.Helper()
	req := loadPublish(t, golden)
	list := cloudevents.ResourceVersionList{}
	ids := make([]string, 0, len(versions))
	for id := range versions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		list.ResourceVersions = append(list.ResourceVersions, cloudevents.ResourceVersionEntry{ResourceID: id, ResourceVersion: versions[id]})
	}
	data, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	req.Event.Data = &pbv1.CloudEvent_BinaryData{BinaryData: data}
	return req
}

// owning answers a resync with the listed IDs it owns, after pushing what the agent needs, as a
// backend does.
func owning(ids ...string) func(bus.Request) bus.Reply {
	return func(bus.Request) bus.Reply { return bus.ReplyOwned(ids) }
}

// deletions reads events until the marker and returns the deleted resource IDs, checking each
// deletion is what protocol.md 3.5 step 3 prescribes.
func deletions(t *testing.T, tb *testbed, s *stream, cluster, key string, wantVersion func(id string) *pbv1.CloudEventAttributeValue) []string {
	t.Helper()
	marker := workPush(t, cluster, "marker", 1, false)
	if key != "manifestbundles" {
		marker = clusterPush(t, cluster, 1)
	}
	tb.push(tb.conn(), cluster, key, marker)
	var ids []string
	for {
		msg := s.next(t)
		if msg.GetId() == marker.ID() {
			return ids
		}
		id := attrString(msg, "ce-resourceid")
		if msg.GetSource() != "source" || msg.GetAttributes()["ce-deletiontimestamp"].GetCeTimestamp() == nil ||
			attrString(msg, "ce-clustername") != cluster || msg.GetData() != nil {
			t.Fatalf("deletion of %s is not a tombstone: %v", id, msg)
		}
		et, err := cloudevents.ParseEventType(msg.GetType())
		if err != nil || et.Action != cloudevents.ActionResyncResponse || et.Subresource != cloudevents.SubresourceSpec {
			t.Fatalf("deletion type %q", msg.GetType())
		}
		if got, want := msg.GetAttributes()["ce-resourceversion"], wantVersion(id); got.String() != want.String() {
			t.Fatalf("deletion of %s carries resourceversion %v, want %v", id, got, want)
		}
		ids = append(ids, id)
	}
}

func TestResyncDeletesOnlyWhatNoBackendOwns(t *testing.T) {
	tb := newTestbed(t)
	kubeBackend := tb.respond(bus.BackendKube, owning("kube-work"))
	maestroBackend := tb.respond(bus.BackendMaestro, owning("maestro-work"))
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	s := subscribe(t, c, loadSubscribe(t, "agent-work-subscribe"))

	versions := map[string]int64{"kube-work": 1, "maestro-work": 2, "gone-1": 3, "gone-2": 4}
	if _, err := c.Publish(ctxTimeout(t), resyncRequest(t, "agent-work-spec-resync-request", versions)); err != nil {
		t.Fatalf("resync: %v", err)
	}
	for _, r := range []*recorder{kubeBackend, maestroBackend} {
		if req := r.next(t); req.Cluster != "cluster1" || req.Key != "manifestbundles" {
			t.Fatalf("resync reached %s/%s", req.Cluster, req.Key)
		}
	}
	got := deletions(t, tb, s, "cluster1", "manifestbundles", func(id string) *pbv1.CloudEventAttributeValue {
		return ceInt(int32(versions[id]))
	})
	slices.Sort(got)
	if !slices.Equal(got, []string{"gone-1", "gone-2"}) {
		t.Fatalf("deleted %v, want exactly the IDs no backend owns", got)
	}
}

func TestResyncDeletesNothingWhenABackendFails(t *testing.T) {
	versions := map[string]int64{"kube-work": 1, "maestro-work": 2}
	t.Run("db-service down", func(t *testing.T) {
		tb := newTestbed(t)
		tb.respond(bus.BackendKube, owning("kube-work"))
		gw := tb.startGateway(gateway.Options{})
		c := tb.client(gw.addr, nil)
		s := subscribe(t, c, loadSubscribe(t, "agent-work-subscribe"))
		_, err := c.Publish(ctxTimeout(t), resyncRequest(t, "agent-work-spec-resync-request", versions))
		if code(err) != codes.Unavailable {
			t.Fatalf("got %v, want Unavailable", err)
		}
		if got := deletions(t, tb, s, "cluster1", "manifestbundles", nil); len(got) != 0 {
			t.Fatalf("deleted %v while a backend was down", got)
		}
	})
	t.Run("db-service answers with an error", func(t *testing.T) {
		tb := newTestbed(t)
		tb.respond(bus.BackendKube, owning("kube-work"))
		tb.respond(bus.BackendMaestro, func(bus.Request) bus.Reply {
			return bus.ReplyError(apierrors.NewServiceUnavailable("database unreachable"))
		})
		gw := tb.startGateway(gateway.Options{})
		c := tb.client(gw.addr, nil)
		s := subscribe(t, c, loadSubscribe(t, "agent-work-subscribe"))
		_, err := c.Publish(ctxTimeout(t), resyncRequest(t, "agent-work-spec-resync-request", versions))
		if code(err) != codes.FailedPrecondition {
			t.Fatalf("got %v, want FailedPrecondition carrying the backend status", err)
		}
		if got := deletions(t, tb, s, "cluster1", "manifestbundles", nil); len(got) != 0 {
			t.Fatalf("deleted %v while a backend failed", got)
		}
	})
}

func TestResyncOfRegistrationTypes(t *testing.T) {
	tb := newTestbed(t)
	kubeBackend := tb.respond(bus.BackendKube, owning())
	maestroBackend := tb.respond(bus.BackendMaestro, owning())
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	s := subscribe(t, c, loadSubscribe(t, "agent-cluster-subscribe"))

	// The golden request has an empty cache: nothing to delete.
	if _, err := c.Publish(ctxTimeout(t), loadPublish(t, "agent-cluster-spec-resync-request")); err != nil {
		t.Fatal(err)
	}
	kubeBackend.next(t)
	versions := map[string]int64{"old-cluster-uid": 41}
	if _, err := c.Publish(ctxTimeout(t), resyncRequest(t, "agent-cluster-spec-resync-request", versions)); err != nil {
		t.Fatal(err)
	}
	kubeBackend.next(t)
	got := deletions(t, tb, s, "cluster1", "managedclusters", func(string) *pbv1.CloudEventAttributeValue { return ceStr("41") })
	if !slices.Equal(got, []string{"old-cluster-uid"}) {
		t.Fatalf("deleted %v", got)
	}
	maestroBackend.none(t) // registration types never go to db-service
}

func TestResyncAnswersPushedByBackendsReachTheStream(t *testing.T) {
	tb := newTestbed(t)
	pusher := tb.conn()
	kubeBackend := tb.respond(bus.BackendKube, nil)
	kubeBackend.setReply(func(req bus.Request) bus.Reply {
		// work-service pushes what the agent lacks before it answers.
		evt := workPush(t, req.Cluster, "kube-work", 2, false)
		tb.push(pusher, req.Cluster, req.Key, evt)
		return bus.ReplyOwned([]string{"kube-work"})
	})
	tb.respond(bus.BackendMaestro, owning())
	gw := tb.startGateway(gateway.Options{})
	c := tb.client(gw.addr, nil)
	s := subscribe(t, c, loadSubscribe(t, "agent-work-subscribe"))
	if _, err := c.Publish(ctxTimeout(t), loadPublish(t, "agent-work-spec-resync-request-empty")); err != nil {
		t.Fatal(err)
	}
	if got := attrString(s.next(t), "ce-resourceid"); got != "kube-work" {
		t.Fatalf("got %s", got)
	}
}
