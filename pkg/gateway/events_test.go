package gateway_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
)

func newEvent(dt cloudevents.DataType, sub cloudevents.Subresource, action cloudevents.Action, source, cluster string) event.Event {
	evt := event.New()
	evt.SetID(uuid.NewString())
	evt.SetSource(source)
	evt.SetTime(time.Now())
	evt.SetType(cloudevents.EventType{DataType: dt, Subresource: sub, Action: action}.String())
	cloudevents.SetClusterName(&evt, cluster)
	cloudevents.SetOriginalSource(&evt, "")
	return evt
}

// workPush is a ManifestBundle spec event as a backend pushes it. Every call has a fresh id and
// time, like the same change pushed by two replicas.
func workPush(t testing.TB, cluster, resourceID string, generation int64, deleted bool) event.Event {
	t.Helper()
	evt := newEvent(cloudevents.ManifestBundlesDataType, cloudevents.SubresourceSpec, cloudevents.ActionUpdateRequest, "kube", cluster)
	cloudevents.SetResourceID(&evt, resourceID)
	cloudevents.SetMetadata(&evt, `{"name":"`+resourceID+`","namespace":"`+cluster+`"}`)
	if err := cloudevents.SetResourceVersionInt(&evt, generation); err != nil {
		t.Fatal(err)
	}
	if deleted {
		cloudevents.SetDeletionTimestamp(&evt, time.Now())
		return evt
	}
	setJSON(t, &evt, map[string]any{"manifests": []any{map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": resourceID, "namespace": "default"},
		"data": map[string]any{"generation": strconv.FormatInt(generation, 10)},
	}}})
	return evt
}

// clusterPush is a ManagedCluster spec event as work-service pushes it.
func clusterPush(t testing.TB, cluster string, resourceVersion int) event.Event {
	t.Helper()
	evt := newEvent(cloudevents.ManagedClustersDataType, cloudevents.SubresourceSpec, cloudevents.ActionUpdateRequest, "kube", cluster)
	cloudevents.SetResourceID(&evt, "uid-"+cluster)
	cloudevents.SetResourceVersionString(&evt, strconv.Itoa(resourceVersion))
	setJSON(t, &evt, map[string]any{"kind": "ManagedCluster", "metadata": map[string]any{"name": cluster}})
	return evt
}

func setJSON(t testing.TB, evt *event.Event, data any) {
	t.Helper()
	if err := evt.SetData(event.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
}

func attrString(msg *pbv1.CloudEvent, key string) string {
	return msg.GetAttributes()[key].GetCeString()
}

func attrInt(msg *pbv1.CloudEvent, key string) (int32, bool) {
	v, ok := msg.GetAttributes()[key].GetAttr().(*pbv1.CloudEventAttributeValue_CeInteger)
	if !ok {
		return 0, false
	}
	return v.CeInteger, true
}

func subscription(cluster string, dt cloudevents.DataType) *pbv1.SubscriptionRequest {
	return &pbv1.SubscriptionRequest{ClusterName: cluster, DataType: string(dt)}
}
