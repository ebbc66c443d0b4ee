package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// KlusterletOptions configures a simulated klusterlet: registration agent plus work agent.
type KlusterletOptions struct {
	ClusterName string
	// Target is the gateway's host:port.
	Target string
	// CAPEM verifies the gateway's serving certificate (the caData of the gRPC config).
	CAPEM []byte
	// BootstrapToken authenticates the first connection (the bootstrap config's token).
	BootstrapToken string
	InitialBackoff time.Duration
	LeaseInterval  time.Duration
	Logger         *slog.Logger
}

// Klusterlet is a running simulated klusterlet.
type Klusterlet struct {
	Work         *WorkAgent
	Registration *RegistrationAgent
	// Certificate is the client certificate the hub signed during bootstrap.
	Certificate tls.Certificate

	conn   *grpc.ClientConn
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartKlusterlet bootstraps with the token (creating the ManagedCluster and a CSR), waits for
// the signed certificate, reconnects with mTLS and runs the registration and work agents, as the
// real klusterlet does with --registration-auth=grpc.
func StartKlusterlet(ctx context.Context, opts KlusterletOptions) (*Klusterlet, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(opts.CAPEM) {
		return nil, errors.New("klusterlet: no CA certificate in CAPEM")
	}
	regOpts := RegistrationOptions{ClusterName: opts.ClusterName, InitialBackoff: opts.InitialBackoff, LeaseInterval: opts.LeaseInterval, Logger: opts.Logger}
	bootstrapConn, err := DialToken(opts.Target, roots, opts.BootstrapToken)
	if err != nil {
		return nil, err
	}
	cert, err := Bootstrap(ctx, bootstrapConn, regOpts)
	bootstrapConn.Close()
	if err != nil {
		return nil, fmt.Errorf("klusterlet %s bootstrap: %w", opts.ClusterName, err)
	}
	conn, err := DialCert(opts.Target, roots, cert)
	if err != nil {
		return nil, err
	}
	work, err := NewWorkAgent(conn, WorkAgentOptions{ClusterName: opts.ClusterName, InitialBackoff: opts.InitialBackoff, Logger: opts.Logger})
	if err != nil {
		conn.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	k := &Klusterlet{Work: work, Registration: NewRegistrationAgent(conn, regOpts), Certificate: cert, conn: conn, cancel: cancel}
	k.wg.Add(2)
	go func() { defer k.wg.Done(); work.Run(runCtx) }()
	go func() { defer k.wg.Done(); _ = k.Registration.Run(runCtx) }()
	return k, nil
}

// Stop ends both agents and closes the connection, as a klusterlet going offline.
func (k *Klusterlet) Stop() {
	k.cancel()
	k.wg.Wait()
	k.conn.Close()
}

// DialToken connects with TLS 1.3 and a bearer token, as the sdk-go client does with `token`.
func DialToken(target string, roots *x509.CertPool, token string) (*grpc.ClientConn, error) {
	return grpc.NewClient(target, grpc.WithTransportCredentials(ClientTLS(roots, nil)), grpc.WithPerRPCCredentials(bearerToken(token)))
}

// bearerToken sends "authorization: Bearer <token>" on every call, as the sdk-go client does.
// (grpc's oauth package would pull in Google Cloud modules for this one header.)
type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

func (bearerToken) RequireTransportSecurity() bool { return true }

// DialCert connects with TLS 1.3 and a client certificate, as the agent does after bootstrap.
func DialCert(target string, roots *x509.CertPool, cert tls.Certificate) (*grpc.ClientConn, error) {
	return grpc.NewClient(target, grpc.WithTransportCredentials(ClientTLS(roots, []tls.Certificate{cert})))
}

// ClientTLS pins TLS 1.3 like sdk-go clients (min = max = 1.3).
func ClientTLS(roots *x509.CertPool, certs []tls.Certificate) credentials.TransportCredentials {
	return credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13})
}
