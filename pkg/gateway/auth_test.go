package gateway_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
	"github.com/cloudevents-conductor/conductor/pkg/gateway"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/auth"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/certs"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/testpki"
)

// authBed is a TLS gateway authenticating with TokenReview and client certificates and
// authorizing with SubjectAccessReview against a real kube-apiserver with RBAC.
type authBed struct {
	*testbed
	kube         kubernetes.Interface
	serverCA     *testpki.CA
	clientCA     *testpki.CA
	gw           *runningGateway
	kubeBackend  *recorder
	tokenReviews *countingTokenReviews
	sars         *countingSARs
}

type countingTokenReviews struct {
	authenticationclient.TokenReviewInterface
	calls atomic.Int32
}

func (c *countingTokenReviews) Create(ctx context.Context, tr *authenticationv1.TokenReview, opts metav1.CreateOptions) (*authenticationv1.TokenReview, error) {
	c.calls.Add(1)
	return c.TokenReviewInterface.Create(ctx, tr, opts)
}

type countingSARs struct {
	authorizationclient.SubjectAccessReviewInterface
	calls atomic.Int32
}

func (c *countingSARs) Create(ctx context.Context, sar *authorizationv1.SubjectAccessReview, opts metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error) {
	c.calls.Add(1)
	return c.SubjectAccessReviewInterface.Create(ctx, sar, opts)
}

func newAuthBed(t *testing.T) *authBed {
	t.Helper()
	env := kube.Env(t)
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	b := &authBed{testbed: newTestbed(t), kube: cs, serverCA: testpki.NewCA(t, "gateway-ca"), clientCA: testpki.NewCA(t, "grpc-signer")}
	for _, ns := range []string{"cluster1", "cluster2", "open-cluster-management"} {
		b.ensureNamespace(t, ns)
	}
	dir := t.TempDir()
	certFile, keyFile := b.serverCA.Server(t, "gateway").WriteFiles(t, dir, "tls")
	caFile := dir + "/client-ca.crt"
	testpki.WriteFile(t, caFile, b.clientCA.PEM)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tlsConfig, err := certs.ServingConfig(ctx, certs.Files{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	b.tokenReviews = &countingTokenReviews{TokenReviewInterface: cs.AuthenticationV1().TokenReviews()}
	b.sars = &countingSARs{SubjectAccessReviewInterface: cs.AuthorizationV1().SubjectAccessReviews()}
	tokens, err := auth.NewTokenAuthenticator(auth.TokenAuthenticatorOptions{Reviews: b.tokenReviews})
	if err != nil {
		t.Fatal(err)
	}
	authorizer, err := auth.NewSARAuthorizer(auth.SARAuthorizerOptions{Reviews: b.sars})
	if err != nil {
		t.Fatal(err)
	}
	b.kubeBackend = b.respond(bus.BackendKube, nil)
	b.respond(bus.BackendMaestro, nil)
	b.gw = b.startGateway(gateway.Options{
		TLS:           tlsConfig,
		Authenticator: auth.Chain{tokens, auth.CertificateAuthenticator{}},
		Authorizer:    authorizer,
	})
	return b
}

func (b *authBed) ensureNamespace(t *testing.T, name string) {
	t.Helper()
	_, err := b.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// certClient is an agent authenticating with a client certificate issued by the gRPC signer.
func (b *authBed) certClient(t *testing.T, user string, groups ...string) pbv1.CloudEventServiceClient {
	t.Helper()
	pair := b.clientCA.Client(t, user, groups...).TLS(t)
	return b.client(b.gw.addr, tlsCreds(&tls.Config{RootCAs: b.serverCA.Pool(), Certificates: []tls.Certificate{pair}}))
}

// tokenClient is an agent authenticating with a bearer token (the bootstrap config).
func (b *authBed) tokenClient(t *testing.T, token string, cert ...tls.Certificate) pbv1.CloudEventServiceClient {
	t.Helper()
	return b.client(b.gw.addr, tlsCreds(&tls.Config{RootCAs: b.serverCA.Pool(), Certificates: cert}),
		grpc.WithPerRPCCredentials(bearer(token)))
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return true }

// basicAuth sends an authorization header that is not a bearer token.
type basicAuth struct{}

func (basicAuth) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Basic YWdlbnQ6c2VjcmV0"}, nil
}

func (basicAuth) RequireTransportSecurity() bool { return true }

// grant gives subject exactly rule in namespace.
func (b *authBed) grant(t *testing.T, namespace string, subject rbacv1.Subject, rule rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	name := "gateway-test-" + uuid.NewString()[:8]
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Rules: []rbacv1.PolicyRule{rule}}
	if _, err := b.kube.RbacV1().Roles(namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Subjects:   []rbacv1.Subject{subject},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
	}
	if _, err := b.kube.RbacV1().RoleBindings(namespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

// serviceAccountToken creates a ServiceAccount and a token for it.
func (b *authBed) serviceAccountToken(t *testing.T, namespace, name string) string {
	t.Helper()
	ctx := context.Background()
	_, err := b.kube.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tr, err := b.kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

func rule(verb, group, resource string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: []string{verb}, APIGroups: []string{group}, Resources: []string{resource}, ResourceNames: names}
}

// sarRow is one row of protocol.md 5.2: a request and the exact RBAC rule it needs.
type sarRow struct {
	name      string
	publish   func(t *testing.T) *pbv1.PublishRequest
	subscribe *pbv1.SubscriptionRequest
	rule      rbacv1.PolicyRule
}

func golden(name string) func(t *testing.T) *pbv1.PublishRequest {
	return func(t *testing.T) *pbv1.PublishRequest { return loadPublish(t, name) }
}

func retyped(name string, typ cloudevents.EventType) func(t *testing.T) *pbv1.PublishRequest {
	return func(t *testing.T) *pbv1.PublishRequest {
		req := loadPublish(t, name)
		req.Event.Type = typ.String()
		return req
	}
}

func sarRows() []sarRow {
	const (
		clusterGroup = "cluster.open-cluster-management.io"
		addonGroup   = "addon.open-cluster-management.io"
		workGroup    = "work.open-cluster-management.io"
	)
	return []sarRow{
		{name: "managedclusters create", publish: golden("agent-cluster-spec-create-request"), rule: rule("create", clusterGroup, "managedclusters", "cluster1")},
		{name: "managedclusters status update", publish: golden("agent-cluster-status-update-request"), rule: rule("update", clusterGroup, "managedclusters/status", "cluster1")},
		{name: "managedclusters resync", publish: golden("agent-cluster-spec-resync-request"), rule: rule("list", clusterGroup, "managedclusters", "cluster1")},
		{name: "managedclusters watch", subscribe: subscription("cluster1", cloudevents.ManagedClustersDataType), rule: rule("watch", clusterGroup, "managedclusters", "cluster1")},
		{name: "csr create", publish: golden("agent-csr-spec-create-request"), rule: rule("create", "certificates.k8s.io", "certificatesigningrequests")},
		{name: "csr resync", publish: golden("agent-csr-spec-resync-request"), rule: rule("list", "certificates.k8s.io", "certificatesigningrequests")},
		{name: "csr watch", subscribe: subscription("cluster1", cloudevents.CertificateSigningRequestsDataType), rule: rule("watch", "certificates.k8s.io", "certificatesigningrequests")},
		{name: "lease update", publish: golden("agent-lease-spec-update-request"), rule: rule("update", "coordination.k8s.io", "leases")},
		{name: "lease delete", publish: retyped("agent-lease-spec-update-request", cloudevents.EventType{
			DataType: cloudevents.LeasesDataType, Subresource: cloudevents.SubresourceSpec, Action: cloudevents.ActionDeleteRequest}),
			rule: rule("delete", "coordination.k8s.io", "leases")},
		{name: "lease resync", publish: golden("agent-lease-spec-resync-request"), rule: rule("list", "coordination.k8s.io", "leases")},
		{name: "lease watch", subscribe: subscription("cluster1", cloudevents.LeasesDataType), rule: rule("watch", "coordination.k8s.io", "leases")},
		{name: "event create", publish: golden("agent-event-spec-create-request"), rule: rule("create", "events.k8s.io", "events")},
		{name: "event watch", subscribe: subscription("cluster1", cloudevents.EventsDataType), rule: rule("watch", "events.k8s.io", "events")},
		{name: "addon v1beta1 status update", publish: golden("agent-addon-status-update-request"), rule: rule("update", addonGroup, "managedclusteraddons/status")},
		{name: "addon v1alpha1 status update", publish: retyped("agent-addon-status-update-request", cloudevents.EventType{
			DataType: cloudevents.ManagedClusterAddOnsV1alpha1DataType, Subresource: cloudevents.SubresourceStatus, Action: cloudevents.ActionUpdateRequest}),
			rule: rule("update", addonGroup, "managedclusteraddons/status")},
		{name: "addon resync", publish: golden("agent-addon-spec-resync-request"), rule: rule("list", addonGroup, "managedclusteraddons")},
		{name: "addon v1beta1 watch", subscribe: subscription("cluster1", cloudevents.ManagedClusterAddOnsV1beta1DataType), rule: rule("watch", addonGroup, "managedclusteraddons")},
		{name: "addon v1alpha1 watch", subscribe: subscription("cluster1", cloudevents.ManagedClusterAddOnsV1alpha1DataType), rule: rule("watch", addonGroup, "managedclusteraddons")},
		{name: "work status update", publish: golden("agent-work-status-update-kube"), rule: rule("update", workGroup, "manifestworks/status")},
		{name: "work resync", publish: golden("agent-work-spec-resync-request"), rule: rule("list", workGroup, "manifestworks")},
		{name: "work watch", subscribe: subscription("cluster1", cloudevents.ManifestBundlesDataType), rule: rule("watch", workGroup, "manifestworks")},
		{name: "token request", publish: golden("agent-tokenrequest-spec-create-request"), rule: rule("create", "", "serviceaccounts/token", "managed-serviceaccount")},
		{name: "token request subscribe", subscribe: subscription("cluster1", cloudevents.TokenRequestsDataType), rule: rule("subscribe", "", "serviceaccounts/token")},
	}
}

// try runs the row's request and returns the resulting code; a subscription counts as granted
// only when it got the subscription-id header.
func (row sarRow) try(t *testing.T, c pbv1.CloudEventServiceClient) codes.Code {
	t.Helper()
	if row.publish != nil {
		_, err := c.Publish(ctxTimeout(t), row.publish(t))
		return code(err)
	}
	s, err := openStream(t, c, row.subscribe)
	if err != nil {
		if s != nil && len(s.header.Get(gateway.SubscriptionIDHeader)) > 0 {
			t.Fatalf("refused subscription sent a subscription-id header")
		}
		return code(err)
	}
	s.cancel()
	return codes.OK
}

func TestAuthorizationFollowsTheSubjectAccessReviewMapping(t *testing.T) {
	b := newAuthBed(t)
	for i, row := range sarRows() {
		t.Run(row.name, func(t *testing.T) {
			allowed := fmt.Sprintf("agent-%d", i)
			elsewhere := fmt.Sprintf("agent-%d-elsewhere", i)
			b.grant(t, "cluster1", userSubject(allowed), row.rule)
			b.grant(t, "cluster2", userSubject(elsewhere), row.rule)
			if got := row.try(t, b.certClient(t, allowed)); got != codes.OK {
				t.Fatalf("granted %v: got %v", row.rule, got)
			}
			if got := row.try(t, b.certClient(t, elsewhere)); got != codes.PermissionDenied {
				t.Fatalf("granted only in another namespace: got %v, want PermissionDenied", got)
			}
			if got := row.try(t, b.certClient(t, fmt.Sprintf("agent-%d-nobody", i))); got != codes.PermissionDenied {
				t.Fatalf("no grant: got %v, want PermissionDenied", got)
			}
		})
	}
}

func TestDeniedRequestsNeverReachABackend(t *testing.T) {
	b := newAuthBed(t)
	c := b.certClient(t, "intruder")
	for _, name := range []string{"agent-lease-spec-update-request", "agent-work-status-update-kube", "agent-csr-spec-create-request"} {
		if _, err := c.Publish(ctxTimeout(t), loadPublish(t, name)); code(err) != codes.PermissionDenied {
			t.Fatalf("%s: %v", name, err)
		}
	}
	b.kubeBackend.none(t)
}

func TestTokenAuthenticationCarriesTheIdentityToTheBackend(t *testing.T) {
	b := newAuthBed(t)
	token := b.serviceAccountToken(t, "open-cluster-management", "agent-registration-bootstrap")
	user := "system:serviceaccount:open-cluster-management:agent-registration-bootstrap"
	b.grant(t, "cluster1", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "agent-registration-bootstrap", Namespace: "open-cluster-management"},
		rule("create", "certificates.k8s.io", "certificatesigningrequests"))
	c := b.tokenClient(t, token)
	if _, err := c.Publish(ctxTimeout(t), loadPublish(t, "agent-csr-spec-create-request")); err != nil {
		t.Fatalf("publish with token: %v", err)
	}
	got := b.kubeBackend.next(t).Identity
	if got.User != user || !slices.Contains(got.Groups, "system:serviceaccounts") {
		t.Fatalf("backend got identity %+v, want %s", got, user)
	}
	// Steady traffic costs no API calls: one TokenReview and one SubjectAccessReview in all.
	tokenCalls, sarCalls := b.tokenReviews.calls.Load(), b.sars.calls.Load()
	for range 20 {
		if _, err := c.Publish(ctxTimeout(t), loadPublish(t, "agent-csr-spec-create-request")); err != nil {
			t.Fatal(err)
		}
		b.kubeBackend.next(t)
	}
	if b.tokenReviews.calls.Load() != tokenCalls || b.sars.calls.Load() != sarCalls {
		t.Fatalf("20 more publishes made %d TokenReviews and %d SubjectAccessReviews, want none",
			b.tokenReviews.calls.Load()-tokenCalls, b.sars.calls.Load()-sarCalls)
	}
}

func TestCertificateAuthenticationUsesCommonNameAndOrganizations(t *testing.T) {
	b := newAuthBed(t)
	user := "system:open-cluster-management:cluster1:agent1"
	groups := []string{"system:open-cluster-management:cluster1", "system:open-cluster-management:managed-clusters"}
	b.grant(t, "cluster1", rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: groups[0]},
		rule("update", "coordination.k8s.io", "leases"))
	if _, err := b.certClient(t, user, groups...).Publish(ctxTimeout(t), loadPublish(t, "agent-lease-spec-update-request")); err != nil {
		t.Fatalf("publish with client certificate: %v", err)
	}
	got := b.kubeBackend.next(t).Identity
	if got.User != user || !slices.Equal(got.Groups, groups) {
		t.Fatalf("backend got identity %+v", got)
	}
}

func TestFirstSuccessfulAuthenticatorWins(t *testing.T) {
	b := newAuthBed(t)
	token := b.serviceAccountToken(t, "open-cluster-management", "bootstrap-first")
	b.grant(t, "cluster1", userSubject("cert-user"), rule("update", "coordination.k8s.io", "leases"))
	b.grant(t, "cluster1", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "bootstrap-first", Namespace: "open-cluster-management"},
		rule("update", "coordination.k8s.io", "leases"))
	cert := b.clientCA.Client(t, "cert-user").TLS(t)

	// A valid token and a certificate: the token is tried first.
	if _, err := b.tokenClient(t, token, cert).Publish(ctxTimeout(t), loadPublish(t, "agent-lease-spec-update-request")); err != nil {
		t.Fatal(err)
	}
	if got := b.kubeBackend.next(t).Identity.User; got != "system:serviceaccount:open-cluster-management:bootstrap-first" {
		t.Fatalf("identity %q, want the token's", got)
	}
	// A rejected token and a valid certificate: the certificate authenticates.
	if _, err := b.tokenClient(t, "not-a-token", cert).Publish(ctxTimeout(t), loadPublish(t, "agent-lease-spec-update-request")); err != nil {
		t.Fatal(err)
	}
	if got := b.kubeBackend.next(t).Identity.User; got != "cert-user" {
		t.Fatalf("identity %q, want the certificate's", got)
	}
}

func TestInvalidCredentialsAreUnauthenticated(t *testing.T) {
	b := newAuthBed(t)
	// A token of a ServiceAccount deleted before the token was ever used.
	revoked := b.serviceAccountToken(t, "open-cluster-management", "deleted-agent")
	if err := b.kube.CoreV1().ServiceAccounts("open-cluster-management").Delete(context.Background(), "deleted-agent", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	anonymous := b.client(b.gw.addr, tlsCreds(&tls.Config{RootCAs: b.serverCA.Pool()}))
	for name, c := range map[string]pbv1.CloudEventServiceClient{
		"garbage token":           b.tokenClient(t, "garbage"),
		"token of a deleted SA":   b.tokenClient(t, revoked),
		"no token or certificate": anonymous,
		"basic auth":              b.client(b.gw.addr, tlsCreds(&tls.Config{RootCAs: b.serverCA.Pool()}), grpc.WithPerRPCCredentials(basicAuth{})),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Publish(ctxTimeout(t), loadPublish(t, "agent-lease-spec-update-request"))
			if code(err) != codes.Unauthenticated {
				t.Fatalf("publish: %v, want Unauthenticated", err)
			}
			s, err := openStream(t, c, subscription("cluster1", cloudevents.LeasesDataType))
			if code(err) != codes.Unauthenticated || len(s.header.Get(gateway.SubscriptionIDHeader)) > 0 {
				t.Fatalf("subscribe: %v, want Unauthenticated without header", err)
			}
		})
	}
	t.Run("certificate of an unknown CA", func(t *testing.T) {
		pair := testpki.NewCA(t, "rogue").Client(t, "system:open-cluster-management:cluster1:agent1").TLS(t)
		c := b.client(b.gw.addr, tlsCreds(&tls.Config{RootCAs: b.serverCA.Pool(),
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }}))
		if _, err := c.Publish(ctxTimeout(t), loadPublish(t, "agent-lease-spec-update-request")); err == nil {
			t.Fatal("a certificate from an unknown CA was accepted")
		}
	})
	b.kubeBackend.none(t)
}

func TestMissingClusterNameIsRefusedBeforeAuthorization(t *testing.T) {
	b := newAuthBed(t)
	b.grant(t, "cluster1", userSubject("lease-agent"), rule("update", "coordination.k8s.io", "leases"))
	req := loadPublish(t, "agent-lease-spec-update-request")
	delete(req.Event.Attributes, "ce-clustername")
	_, err := b.certClient(t, "lease-agent").Publish(ctxTimeout(t), req)
	if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "clustername") {
		t.Fatalf("got %v, want InvalidArgument naming ce-clustername", err)
	}
	b.kubeBackend.none(t)
}
