package certs_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudevents-conductor/conductor/pkg/gateway/certs"
	"github.com/cloudevents-conductor/conductor/pkg/gateway/testpki"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

// tlsServer accepts connections with cfg and completes each handshake.
func tlsServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	lis, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lis.Close() })
	go func() {
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = conn.(*tls.Conn).Handshake()
				_ = conn.Close()
			}()
		}
	}()
	return lis.Addr().String()
}

// handshake connects and returns the server's leaf certificate common name.
func handshake(addr string, cfg *tls.Config) (string, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	// TLS 1.3 reports client certificate rejection only on the first read.
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != nil && !isEOF(err) && !isTimeout(err) {
		return "", err
	}
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

func isEOF(err error) bool { return err.Error() == "EOF" }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestServingConfigReloadsCertificateAndClientCA(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA, otherCA := testpki.NewCA(t, "server-ca"), testpki.NewCA(t, "client-ca"), testpki.NewCA(t, "other-ca")
	certFile, keyFile := serverCA.Server(t, "first").WriteFiles(t, dir, "tls")
	caFile := filepath.Join(dir, "client-ca.crt")
	testpki.WriteFile(t, caFile, clientCA.PEM)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, err := certs.ServingConfig(ctx, certs.Files{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	addr := tlsServer(t, cfg)
	client := func(cert *testpki.KeyPair, version uint16) *tls.Config {
		c := &tls.Config{RootCAs: serverCA.Pool(), ServerName: "localhost", MinVersion: version, MaxVersion: version}
		if cert != nil {
			// Always present it: Go clients otherwise send no certificate when its issuer is not
			// among the CAs the server asks for.
			pair := cert.TLS(t)
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
		}
		return c
	}

	if cn, err := handshake(addr, client(nil, tls.VersionTLS13)); err != nil || cn != "first" {
		t.Fatalf("TLS 1.3 without a client certificate: %q, %v", cn, err)
	}
	if _, err := handshake(addr, client(nil, tls.VersionTLS12)); err != nil {
		t.Fatalf("TLS 1.2: %v", err)
	}
	if _, err := handshake(addr, client(nil, tls.VersionTLS11)); err == nil {
		t.Fatal("TLS 1.1 accepted")
	}
	agent := clientCA.Client(t, "agent")
	if _, err := handshake(addr, client(&agent, tls.VersionTLS13)); err != nil {
		t.Fatalf("client certificate of the client CA: %v", err)
	}
	stranger := otherCA.Client(t, "stranger")
	if _, err := handshake(addr, client(&stranger, tls.VersionTLS13)); err == nil {
		t.Fatal("client certificate of an unknown CA accepted")
	}

	// Rotate: a new serving certificate and a client CA bundle that trusts the other CA too.
	second := serverCA.Server(t, "second")
	testpki.WriteFile(t, keyFile, second.KeyPEM)
	testpki.WriteFile(t, certFile, second.CertPEM)
	testpki.WriteFile(t, caFile, append(append([]byte{}, clientCA.PEM...), otherCA.PEM...))
	testenv.Eventually(t, 30*time.Second, func() (bool, error) {
		cn, err := handshake(addr, client(&stranger, tls.VersionTLS13))
		return cn == "second", err
	})
}

func TestServingConfigNeedsReadableFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := certs.ServingConfig(context.Background(), certs.Files{CertFile: filepath.Join(dir, "none.crt"), KeyFile: filepath.Join(dir, "none.key")}); err == nil {
		t.Fatal("missing files accepted")
	}
	if _, err := certs.ServingConfig(context.Background(), certs.Files{}); err == nil {
		t.Fatal("no files accepted")
	}
}
