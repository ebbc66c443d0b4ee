package workservice

import (
	"context"
	"fmt"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
	"github.com/cloudevents-conductor/conductor/pkg/workservice/codec"
)

// CSRUserAnnotation records which agent asked for a CSR. The hub creates CSRs on the agents'
// behalf, so the CSR's own username is work-service's; approvers read this annotation instead.
const CSRUserAnnotation = "open-cluster-management.io/csr-user"

// clusterIdentityPrefix starts the user names of agents authenticated by their cluster
// certificate: system:open-cluster-management:<cluster>:<agent> (or the add-on agent form).
const clusterIdentityPrefix = "system:open-cluster-management:"

type csrs struct{ svc *Service }

func (k *csrs) handle(ctx context.Context, r request) error {
	csr := &certificatesv1.CertificateSigningRequest{}
	if err := codec.Decode(r.event, csr); err != nil {
		return err
	}
	cluster := csr.Labels[clusterv1.ClusterNameLabelKey]
	if err := sameCluster(r, "CSR "+csr.Name, cluster); err != nil {
		return err
	}
	if r.typ.Subresource != ce.SubresourceSpec || r.typ.Action != ce.ActionCreateRequest {
		return unsupported(r)
	}
	if err := validateClusterIdentity(r.identity.User, cluster); err != nil {
		return apierrors.NewForbidden(certificatesv1.Resource("certificatesigningrequests"), csr.Name, err)
	}
	csr.Annotations = map[string]string{CSRUserAnnotation: r.identity.User}
	_, err := k.svc.kube.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
	return err
}

// validateClusterIdentity lets an agent that authenticated with a cluster certificate ask only
// for its own cluster (as sdk-go's authn.ValidateClusterIdentity). Other identities, such as the
// bootstrap service account, were authorized by the gateway.
func validateClusterIdentity(user, cluster string) error {
	if user == "" {
		return fmt.Errorf("the request carries no authenticated user")
	}
	rest, ok := strings.CutPrefix(user, clusterIdentityPrefix)
	if !ok {
		return nil
	}
	parts := strings.Split(rest, ":")
	var identityCluster string
	switch {
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		identityCluster = parts[0]
	case len(parts) == 6 && parts[0] == "cluster" && parts[1] != "" && parts[2] == "addon" &&
		parts[3] != "" && parts[4] == "agent" && parts[5] != "":
		identityCluster = parts[1]
	default:
		return fmt.Errorf("identity %q does not name a cluster", user)
	}
	if identityCluster != cluster {
		return fmt.Errorf("identity %q may not act for cluster %q", user, cluster)
	}
	return nil
}

func (k *csrs) list(ctx context.Context, cluster string) ([]event.Event, error) {
	list := &certificatesv1.CertificateSigningRequestList{}
	if err := k.svc.cache.List(ctx, list, client.MatchingLabels{clusterv1.ClusterNameLabelKey: cluster}); err != nil {
		return nil, fmt.Errorf("listing CSRs from the cache: %w", err)
	}
	return encodeAll(pointers(list.Items), ce.ActionResyncResponse, k.svc.enc.CSR)
}

func (k *csrs) registerPusher(ctx context.Context, reg ce.Registration) error {
	p := &pusher[*certificatesv1.CertificateSigningRequest]{
		svc: k.svc, reg: reg, encode: k.svc.enc.CSR,
		tombstone: tombstoneWith[*certificatesv1.CertificateSigningRequest](k.svc),
	}
	return p.register(ctx, &certificatesv1.CertificateSigningRequest{})
}
