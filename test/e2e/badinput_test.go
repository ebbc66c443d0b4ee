package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	cloudevent "github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/test/agent"
)

func agentClient(t *testing.T, k *agent.Klusterlet) pbv1.CloudEventServiceClient {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(hub.CA.Cert)
	conn, err := agent.DialCert(hub.GatewayAddr, roots, k.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pbv1.NewCloudEventServiceClient(conn)
}

func clusterStatusEvent(t *testing.T, cluster string, c *clusterv1.ManagedCluster) *pbv1.CloudEvent {
	t.Helper()
	evt := cloudevent.New()
	evt.SetID(uuid.NewString())
	evt.SetSource(cluster)
	evt.SetType(cloudevents.EventType{DataType: cloudevents.ManagedClustersDataType, Subresource: cloudevents.SubresourceStatus, Action: cloudevents.ActionUpdateRequest}.String())
	evt.SetTime(time.Now())
	cloudevents.SetClusterName(&evt, cluster)
	cloudevents.SetOriginalSource(&evt, "")
	cloudevents.SetResourceID(&evt, string(c.UID))
	cloudevents.SetResourceVersionString(&evt, c.ResourceVersion)
	body, _ := json.Marshal(c)
	if err := evt.SetData(cloudevent.ApplicationJSON, body); err != nil {
		t.Fatal(err)
	}
	msg, err := cloudevents.ToProto(evt)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func wantCode(t *testing.T, err error, code codes.Code, what string) {
	t.Helper()
	if status.Code(err) != code {
		t.Errorf("%s: got %v, want %s", what, err, code)
	}
}

// TestBadInputIsRejectedAndChangesNothing: malformed events, an agent speaking for another
// cluster and a caller without credentials get a clear status, and the hub is left alone.
func TestBadInputIsRejectedAndChangesNothing(t *testing.T) {
	a := startKlusterlet(t, "e2e-bad-a")
	startKlusterlet(t, "e2e-bad-b")
	ctx := context.Background()
	c := agentClient(t, a)

	victim := &clusterv1.ManagedCluster{}
	if err := hub.Kube.Client.Get(ctx, client.ObjectKey{Name: "e2e-bad-b"}, victim); err != nil {
		t.Fatal(err)
	}

	// Malformed: a type with an unknown subresource, and an event without attributes.
	bad := clusterStatusEvent(t, "e2e-bad-a", victim)
	bad.Type = "cluster.open-cluster-management.io.v1.managedclusters.bogus.update_request"
	_, err := c.Publish(ctx, &pbv1.PublishRequest{Event: bad})
	wantCode(t, err, codes.InvalidArgument, "unknown subresource")
	_, err = c.Publish(ctx, &pbv1.PublishRequest{Event: &pbv1.CloudEvent{Id: "x", Source: "s", SpecVersion: "1.0", Type: bad.Type}})
	wantCode(t, err, codes.InvalidArgument, "no attributes")

	// Cluster A's agent writing cluster B's status is denied.
	victim.Status.Version.Kubernetes = "forged-by-another-cluster"
	_, err = c.Publish(ctx, &pbv1.PublishRequest{Event: clusterStatusEvent(t, "e2e-bad-b", victim)})
	wantCode(t, err, codes.PermissionDenied, "status update for another cluster")

	// No credentials at all.
	roots := x509.NewCertPool()
	roots.AddCert(hub.CA.Cert)
	anon, err := grpc.NewClient(hub.GatewayAddr, grpc.WithTransportCredentials(agent.ClientTLS(roots, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	stream, err := pbv1.NewCloudEventServiceClient(anon).Subscribe(ctx, &pbv1.SubscriptionRequest{ClusterName: "e2e-bad-b", DataType: cloudevents.ManifestBundlesDataType.String()})
	if err == nil {
		_, err = stream.Recv()
	}
	wantCode(t, err, codes.Unauthenticated, "subscribe without credentials")

	after := &clusterv1.ManagedCluster{}
	if err := hub.Kube.Client.Get(ctx, client.ObjectKey{Name: "e2e-bad-b"}, after); err != nil {
		t.Fatal(err)
	}
	if after.Status.Version.Kubernetes == "forged-by-another-cluster" {
		t.Error("a rejected request changed cluster e2e-bad-b")
	}
}
