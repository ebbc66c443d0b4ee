package auth_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/auth"
)

var agent = auth.Identity{User: "system:open-cluster-management:cluster1:agent", Groups: []string{"system:open-cluster-management:cluster1"}}

func et(dt cloudevents.DataType, sub cloudevents.Subresource, action cloudevents.Action) cloudevents.EventType {
	return cloudevents.EventType{DataType: dt, Subresource: sub, Action: action}
}

func TestPublishAttributes(t *testing.T) {
	const spec, status = cloudevents.SubresourceSpec, cloudevents.SubresourceStatus
	tests := []struct {
		typ  cloudevents.EventType
		data string
		want auth.Attributes
	}{
		{et(cloudevents.ManagedClustersDataType, spec, cloudevents.ActionCreateRequest), "",
			auth.Attributes{Verb: "create", Group: "cluster.open-cluster-management.io", Resource: "managedclusters", Name: "cluster1"}},
		{et(cloudevents.ManagedClustersDataType, status, cloudevents.ActionUpdateRequest), "",
			auth.Attributes{Verb: "update", Group: "cluster.open-cluster-management.io", Resource: "managedclusters", Subresource: "status", Name: "cluster1"}},
		{et(cloudevents.CertificateSigningRequestsDataType, spec, cloudevents.ActionCreateRequest), `{"metadata":{"name":"cluster1-abcde"}}`,
			auth.Attributes{Verb: "create", Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}},
		{et(cloudevents.LeasesDataType, spec, cloudevents.ActionDeleteRequest), "",
			auth.Attributes{Verb: "delete", Group: "coordination.k8s.io", Resource: "leases"}},
		{et(cloudevents.EventsDataType, spec, cloudevents.ActionResyncRequest), "",
			auth.Attributes{Verb: "list", Group: "events.k8s.io", Resource: "events"}},
		{et(cloudevents.ManagedClusterAddOnsV1alpha1DataType, status, cloudevents.ActionUpdateRequest), "",
			auth.Attributes{Verb: "update", Group: "addon.open-cluster-management.io", Resource: "managedclusteraddons", Subresource: "status"}},
		{et(cloudevents.ManagedClusterAddOnsV1beta1DataType, spec, cloudevents.ActionResyncRequest), "",
			auth.Attributes{Verb: "list", Group: "addon.open-cluster-management.io", Resource: "managedclusteraddons"}},
		{et(cloudevents.ManifestBundlesDataType, status, cloudevents.ActionUpdateRequest), "",
			auth.Attributes{Verb: "update", Group: "work.open-cluster-management.io", Resource: "manifestworks", Subresource: "status"}},
		{et(cloudevents.TokenRequestsDataType, spec, cloudevents.ActionCreateRequest), `{"metadata":{"name":"managed-serviceaccount","namespace":"cluster1"}}`,
			auth.Attributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Name: "managed-serviceaccount"}},
		{et(cloudevents.TokenRequestsDataType, spec, cloudevents.ActionResyncRequest), `{"resourceVersions":[]}`,
			auth.Attributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token"}},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			got, err := auth.PublishAttributes(agent, "cluster1", tt.typ, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			tt.want.User, tt.want.Namespace = agent, "cluster1"
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSubscribeAttributes(t *testing.T) {
	got, err := auth.SubscribeAttributes(agent, "cluster1", cloudevents.TokenRequestsDataType)
	if err != nil || got.Verb != "subscribe" || got.Resource != "serviceaccounts" || got.Subresource != "token" || got.Name != "" {
		t.Fatalf("token requests: %+v, %v", got, err)
	}
	got, err = auth.SubscribeAttributes(agent, "cluster1", cloudevents.ManifestBundlesDataType)
	if err != nil || got.Verb != "watch" || got.Resource != "manifestworks" || got.Subresource != "" || got.Namespace != "cluster1" {
		t.Fatalf("works: %+v, %v", got, err)
	}
	got, err = auth.SubscribeAttributes(agent, "cluster1", cloudevents.ManagedClustersDataType)
	if err != nil || got.Verb != "watch" || got.Name != "cluster1" {
		t.Fatalf("clusters: %+v, %v", got, err)
	}
}

func TestUnservedTypesAndBadDataAreRefused(t *testing.T) {
	if _, err := auth.SubscribeAttributes(agent, "cluster1", "example.com.v1.widgets"); !errors.Is(err, auth.ErrDenied) {
		t.Fatalf("unknown data type: %v", err)
	}
	typ := et(cloudevents.TokenRequestsDataType, cloudevents.SubresourceSpec, cloudevents.ActionCreateRequest)
	if _, err := auth.PublishAttributes(agent, "cluster1", typ, []byte("not json")); !errors.Is(err, auth.ErrInvalidData) {
		t.Fatalf("bad token request data: %v", err)
	}
	typ = et(cloudevents.LeasesDataType, cloudevents.SubresourceSpec, cloudevents.ActionWatchRequest)
	if _, err := auth.PublishAttributes(agent, "cluster1", typ, nil); !errors.Is(err, auth.ErrDenied) {
		t.Fatalf("watch_request published: %v", err)
	}
}

// fixed is an authenticator with a fixed outcome.
type fixed struct {
	id  auth.Identity
	err error
}

func (f fixed) Authenticate(context.Context) (auth.Identity, error) { return f.id, f.err }

func TestChain(t *testing.T) {
	ctx := context.Background()
	rejected := fixed{err: fmt.Errorf("%w: bad token", auth.ErrUnauthenticated)}
	down := fixed{err: fmt.Errorf("%w: apiserver down", auth.ErrUnavailable)}
	ok := fixed{id: agent}
	if id, err := (auth.Chain{rejected, ok}).Authenticate(ctx); err != nil || id.User != agent.User {
		t.Fatalf("first success must win: %v %v", id, err)
	}
	if _, err := (auth.Chain{ok, rejected}).Authenticate(ctx); err != nil {
		t.Fatalf("later failures must not matter: %v", err)
	}
	if _, err := (auth.Chain{down, rejected}).Authenticate(ctx); status.Code(auth.StatusError(err)) != codes.Unavailable {
		t.Fatalf("an unreachable backend must make the agent retry: %v", err)
	}
	if _, err := (auth.Chain{rejected, rejected}).Authenticate(ctx); status.Code(auth.StatusError(err)) != codes.Unauthenticated {
		t.Fatalf("all rejected: %v", err)
	}
}

func TestTokenAuthenticatorNeedsAClient(t *testing.T) {
	if _, err := auth.NewTokenAuthenticator(auth.TokenAuthenticatorOptions{}); err == nil {
		t.Fatal("a token authenticator without a TokenReview client was built")
	}
	if _, err := auth.NewSARAuthorizer(auth.SARAuthorizerOptions{}); err == nil {
		t.Fatal("a SAR authorizer without a SubjectAccessReview client was built")
	}
}
