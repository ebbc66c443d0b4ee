package testenv

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

const natsReadyTimeout = 10 * time.Second

// NATSServer is a real nats-server running inside the test process on
// 127.0.0.1. It keeps its port across Shutdown and Start, so clients configured
// with its URL reconnect after a restart as they would in production.
type NATSServer struct {
	port int // chosen at the first start, kept for restarts

	mu  sync.Mutex
	srv *server.Server // nil while shut down
}

// NATS starts an embedded NATS server on a random port and shuts it down when
// the test ends.
func NATS(tb testing.TB) *NATSServer {
	tb.Helper()
	srv, port, err := startNATSServer(server.RANDOM_PORT)
	if err != nil {
		tb.Fatalf("testenv: starting NATS: %v", err)
	}
	n := &NATSServer{port: port, srv: srv}
	tb.Cleanup(n.Shutdown)
	return n
}

// ClientURL is the nats:// URL clients connect to; it stays valid across restarts.
func (n *NATSServer) ClientURL() string {
	return fmt.Sprintf("nats://127.0.0.1:%d", n.port)
}

// Port is the TCP port the server listens on.
func (n *NATSServer) Port() int { return n.port }

// Server is the running server, for inspection (e.g. NumClients, NumSubscriptions).
// It is nil while the server is shut down.
func (n *NATSServer) Server() *server.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// Shutdown stops the server and drops every client connection. It is safe to
// call when the server is already down.
func (n *NATSServer) Shutdown() {
	n.mu.Lock()
	srv := n.srv
	n.srv = nil
	n.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// Start starts the server again on the same port after Shutdown.
func (n *NATSServer) Start(tb testing.TB) {
	tb.Helper()
	if err := n.start(); err != nil {
		tb.Fatalf("testenv: starting NATS: %v", err)
	}
}

// Restart shuts the server down and starts it again on the same port.
func (n *NATSServer) Restart(tb testing.TB) {
	tb.Helper()
	n.Shutdown()
	n.Start(tb)
}

func (n *NATSServer) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		return nil
	}
	srv, _, err := startNATSServer(n.port)
	if err != nil {
		return err
	}
	n.srv = srv
	return nil
}

// startNATSServer starts a server on 127.0.0.1:port (server.RANDOM_PORT for any)
// and returns it with the port it listens on.
func startNATSServer(port int) (*server.Server, int, error) {
	srv, err := server.NewServer(&server.Options{
		Host:   "127.0.0.1",
		Port:   port,
		NoLog:  true,
		NoSigs: true, // signals belong to the test binary
	})
	if err != nil {
		return nil, 0, fmt.Errorf("configuring server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(natsReadyTimeout) {
		srv.Shutdown()
		return nil, 0, fmt.Errorf("server on port %d not ready within %v", port, natsReadyTimeout)
	}
	addr, ok := srv.Addr().(*net.TCPAddr)
	if !ok {
		srv.Shutdown()
		return nil, 0, fmt.Errorf("unexpected listener address %v", srv.Addr())
	}
	return srv, addr.Port, nil
}
