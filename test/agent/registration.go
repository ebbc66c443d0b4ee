package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	cloudevent "github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

// GRPCSignerName is the signer of the CSRs klusterlets send over gRPC (protocol.md §5.3).
const GRPCSignerName = "open-cluster-management.io/grpc"

// LeaseName is the hub lease each registration agent renews in its cluster namespace.
const LeaseName = "managed-cluster-lease"

// RegistrationOptions configures a simulated registration agent.
type RegistrationOptions struct {
	ClusterName string
	// AgentName ends the CSR common name; default "agent".
	AgentName      string
	InitialBackoff time.Duration
	// LeaseInterval is how often the lease is renewed and the cluster status checked; default 10 s.
	LeaseInterval time.Duration
	Logger        *slog.Logger
}

func (o *RegistrationOptions) defaults() {
	if o.AgentName == "" {
		o.AgentName = "agent"
	}
	if o.LeaseInterval == 0 {
		o.LeaseInterval = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// registrationStreams are the streams of one connection, each with its cache.
type registrationStreams struct {
	opts    RegistrationOptions
	streams map[cloudevents.DataType]*stream
	caches  map[cloudevents.DataType]*objectCache
}

func startStreams(ctx context.Context, wg *sync.WaitGroup, conn grpc.ClientConnInterface, opts RegistrationOptions, types ...cloudevents.DataType) *registrationStreams {
	rs := &registrationStreams{opts: opts, streams: map[cloudevents.DataType]*stream{}, caches: map[cloudevents.DataType]*objectCache{}}
	for _, dt := range types {
		cache := newObjectCache()
		s := newStream(conn, StreamOptions{ClusterName: opts.ClusterName, Source: opts.ClusterName, DataType: dt, InitialBackoff: opts.InitialBackoff, Logger: opts.Logger}, cache)
		rs.streams[dt], rs.caches[dt] = s, cache
		wg.Add(1)
		go func() { defer wg.Done(); s.run(ctx) }()
	}
	return rs
}

func (rs *registrationStreams) waitSubscribed(ctx context.Context) error {
	for dt, s := range rs.streams {
		select {
		case <-s.subscribed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the %s subscription: %w", dt, ctx.Err())
		}
	}
	return nil
}

// publish sends an agent-built event of the given type carrying obj as JSON.
func (rs *registrationStreams) publish(ctx context.Context, dt cloudevents.DataType, sub cloudevents.Subresource, action cloudevents.Action, obj metav1.Object, rv string) error {
	return publishObject(ctx, rs.streams[dt], sub, action, obj, rv)
}

// publishObject sends obj as the data of an agent-built event, with the extensions the sdk-go
// registration codecs set: originalsource "", resourceid when the object has a uid, resourceversion.
func publishObject(ctx context.Context, s *stream, sub cloudevents.Subresource, action cloudevents.Action, obj metav1.Object, rv string) error {
	evt := s.newEvent(sub, action)
	cloudevents.SetOriginalSource(&evt, "")
	if uid := string(obj.GetUID()); uid != "" {
		cloudevents.SetResourceID(&evt, uid)
	}
	if rv != "" {
		cloudevents.SetResourceVersionString(&evt, rv)
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	if err := evt.SetData(cloudevent.ApplicationJSON, body); err != nil {
		return err
	}
	return s.publish(ctx, evt)
}

func byName(name string) func([]byte) bool {
	return func(raw []byte) bool {
		m := metav1.PartialObjectMetadata{}
		return json.Unmarshal(raw, &m) == nil && m.Name == name
	}
}

// Bootstrap joins a cluster the way the klusterlet does over gRPC with a bootstrap token (conn must
// carry it): it creates the ManagedCluster if the hub has none, sends a CSR for signer
// open-cluster-management.io/grpc and waits for it to be approved and signed. The returned
// certificate is what the agent reconnects with (mTLS).
func Bootstrap(ctx context.Context, conn grpc.ClientConnInterface, opts RegistrationOptions) (tls.Certificate, error) {
	opts.defaults()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	rs := startStreams(ctx, &wg, conn, opts, cloudevents.ManagedClustersDataType, cloudevents.CertificateSigningRequestsDataType)
	if err := rs.waitSubscribed(ctx); err != nil {
		return tls.Certificate{}, err
	}
	if err := rs.ensureCluster(ctx); err != nil {
		return tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	csrName, err := rs.createCSR(ctx, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	csr := certificatesv1.CertificateSigningRequest{}
	signed := func(raw []byte) bool {
		c := certificatesv1.CertificateSigningRequest{}
		return json.Unmarshal(raw, &c) == nil && c.Name == csrName && len(c.Status.Certificate) > 0 && approved(c)
	}
	if err := rs.caches[cloudevents.CertificateSigningRequestsDataType].waitFor(ctx, &csr, signed); err != nil {
		return tls.Certificate{}, fmt.Errorf("waiting for CSR %s to be approved and signed: %w", csrName, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(csr.Status.Certificate, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

func approved(c certificatesv1.CertificateSigningRequest) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == certificatesv1.CertificateApproved && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func (rs *registrationStreams) ensureCluster(ctx context.Context) error {
	cluster := clusterv1.ManagedCluster{}
	if rs.caches[cloudevents.ManagedClustersDataType].find(&cluster, byName(rs.opts.ClusterName)) {
		return nil
	}
	cluster = clusterv1.ManagedCluster{
		TypeMeta:   metav1.TypeMeta{APIVersion: "cluster.open-cluster-management.io/v1", Kind: "ManagedCluster"},
		ObjectMeta: metav1.ObjectMeta{Name: rs.opts.ClusterName},
		Spec:       clusterv1.ManagedClusterSpec{LeaseDurationSeconds: 60},
	}
	return rs.publish(ctx, cloudevents.ManagedClustersDataType, cloudevents.SubresourceSpec, cloudevents.ActionCreateRequest, &cluster, "")
}

func (rs *registrationStreams) createCSR(ctx context.Context, key *ecdsa.PrivateKey) (string, error) {
	cluster := rs.opts.ClusterName
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{
		CommonName:   fmt.Sprintf("system:open-cluster-management:%s:%s", cluster, rs.opts.AgentName),
		Organization: []string{"system:open-cluster-management:" + cluster, "system:open-cluster-management:managed-clusters"},
	}}, key)
	if err != nil {
		return "", err
	}
	csr := certificatesv1.CertificateSigningRequest{
		TypeMeta: metav1.TypeMeta{APIVersion: "certificates.k8s.io/v1", Kind: "CertificateSigningRequest"},
		ObjectMeta: metav1.ObjectMeta{
			Name:   cluster + "-" + utilrand.String(5),
			Labels: map[string]string{clusterv1.ClusterNameLabelKey: cluster},
		},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: GRPCSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth},
		},
	}
	err = rs.publish(ctx, cloudevents.CertificateSigningRequestsDataType, cloudevents.SubresourceSpec, cloudevents.ActionCreateRequest, &csr, "")
	return csr.Name, err
}

// RegistrationAgent is the steady-state registration agent: it renews its lease and reports the
// ManagedCluster joined and available once the hub accepted it.
type RegistrationAgent struct {
	opts    RegistrationOptions
	conn    grpc.ClientConnInterface
	streams *registrationStreams
}

// NewRegistrationAgent builds the steady-state agent on an mTLS connection.
func NewRegistrationAgent(conn grpc.ClientConnInterface, opts RegistrationOptions) *RegistrationAgent {
	opts.defaults()
	return &RegistrationAgent{opts: opts, conn: conn}
}

// Run keeps the lease fresh and the cluster status current until ctx ends.
func (r *RegistrationAgent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	r.streams = startStreams(ctx, &wg, r.conn, r.opts, cloudevents.ManagedClustersDataType, cloudevents.LeasesDataType)
	if err := r.streams.waitSubscribed(ctx); err != nil {
		return err
	}
	ticker := time.NewTicker(r.opts.LeaseInterval)
	defer ticker.Stop()
	for {
		if err := errors.Join(r.renewLease(ctx), r.reportJoined(ctx)); err != nil && ctx.Err() == nil {
			r.opts.Logger.Info("registration agent tick failed, retrying", "cluster", r.opts.ClusterName, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (r *RegistrationAgent) renewLease(ctx context.Context) error {
	lease := coordinationv1.Lease{}
	if !r.streams.caches[cloudevents.LeasesDataType].find(&lease, byName(LeaseName)) {
		return nil // the hub has not created it yet
	}
	now := metav1.NewMicroTime(time.Now())
	lease.Spec.RenewTime = &now
	return r.streams.publish(ctx, cloudevents.LeasesDataType, cloudevents.SubresourceSpec, cloudevents.ActionUpdateRequest, &lease, lease.ResourceVersion)
}

// reportJoined sets ManagedClusterJoined and Available once the hub accepted the cluster.
func (r *RegistrationAgent) reportJoined(ctx context.Context) error {
	cluster := clusterv1.ManagedCluster{}
	if !r.streams.caches[cloudevents.ManagedClustersDataType].find(&cluster, byName(r.opts.ClusterName)) || !cluster.Spec.HubAcceptsClient {
		return nil
	}
	if meta.IsStatusConditionTrue(cluster.Status.Conditions, clusterv1.ManagedClusterConditionJoined) &&
		meta.IsStatusConditionTrue(cluster.Status.Conditions, clusterv1.ManagedClusterConditionAvailable) {
		return nil
	}
	meta.SetStatusCondition(&cluster.Status.Conditions, metav1.Condition{Type: clusterv1.ManagedClusterConditionJoined, Status: metav1.ConditionTrue, Reason: "ManagedClusterJoined", Message: "Managed cluster joined"})
	meta.SetStatusCondition(&cluster.Status.Conditions, metav1.Condition{Type: clusterv1.ManagedClusterConditionAvailable, Status: metav1.ConditionTrue, Reason: "ManagedClusterAvailable", Message: "Managed cluster is available"})
	cluster.Status.Version.Kubernetes = "v1.37.2"
	return r.streams.publish(ctx, cloudevents.ManagedClustersDataType, cloudevents.SubresourceStatus, cloudevents.ActionUpdateRequest, &cluster, cluster.ResourceVersion)
}

// SendEvent publishes an events.k8s.io/v1 Event about the cluster, as the agent's recorder does.
func (r *RegistrationAgent) SendEvent(ctx context.Context, reason, note string) error {
	now := metav1.NewMicroTime(time.Now())
	evt := eventsv1.Event{
		TypeMeta:            metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"},
		ObjectMeta:          metav1.ObjectMeta{Name: r.opts.ClusterName + "." + strconv.FormatInt(time.Now().UnixNano(), 16), Namespace: r.opts.ClusterName, UID: ""},
		EventTime:           now,
		ReportingController: "registration-agent",
		ReportingInstance:   r.opts.ClusterName + "-" + uuid.NewString()[:8],
		Action:              reason,
		Reason:              reason,
		Regarding:           corev1.ObjectReference{Kind: "ManagedCluster", Name: r.opts.ClusterName, APIVersion: "cluster.open-cluster-management.io/v1"},
		Note:                note,
		Type:                corev1.EventTypeNormal,
	}
	// The klusterlet's events client is publish-only: no subscription, no resync.
	events := newStream(r.conn, StreamOptions{ClusterName: r.opts.ClusterName, Source: r.opts.ClusterName, DataType: cloudevents.EventsDataType, Logger: r.opts.Logger}, newObjectCache())
	return publishObject(ctx, events, cloudevents.SubresourceSpec, cloudevents.ActionCreateRequest, &evt, "")
}
