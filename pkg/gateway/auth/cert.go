package auth

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// CertificateAuthenticator authenticates by the client certificate the TLS handshake verified
// against the client CA: user = subject CommonName, groups = subject Organization. The server
// must request certificates (tls.VerifyClientCertIfGiven); unverified certificates never count.
type CertificateAuthenticator struct{}

// Authenticate implements Authenticator.
func (CertificateAuthenticator) Authenticate(ctx context.Context) (Identity, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Identity{}, fmt.Errorf("%w: no peer information", ErrUnauthenticated)
	}
	tlsInfo, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return Identity{}, fmt.Errorf("%w: no TLS connection", ErrUnauthenticated)
	}
	chains := tlsInfo.State.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		return Identity{}, fmt.Errorf("%w: no verified client certificate", ErrUnauthenticated)
	}
	leaf := chains[0][0]
	if leaf.Subject.CommonName == "" {
		return Identity{}, fmt.Errorf("%w: client certificate has no common name", ErrUnauthenticated)
	}
	return Identity{User: leaf.Subject.CommonName, Groups: slices.Clone(leaf.Subject.Organization)}, nil
}
