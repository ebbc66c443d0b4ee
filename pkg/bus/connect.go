package bus

import (
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnectOptions are the NATS client settings of every conductor process.
type ConnectOptions struct {
	URL       string
	CredsFile string
	CAFile    string
}

// AddFlags registers --nats-url, --nats-creds-file and --nats-ca-file.
func (o *ConnectOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.URL, "nats-url", nats.DefaultURL, "NATS server URL(s), comma separated")
	fs.StringVar(&o.CredsFile, "nats-creds-file", "", "NATS user credentials file (JWT and NKey seed)")
	fs.StringVar(&o.CAFile, "nats-ca-file", "", "PEM CA bundle that verifies the NATS servers (tls:// URLs)")
}

// Connect connects as the named client and reconnects for ever: a process starts and keeps
// running while NATS is away, and its readiness check reports the outage instead.
func Connect(name string, o ConnectOptions, logger *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second), nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { logger.Warn("NATS disconnected", "err", err) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { logger.Info("NATS reconnected", "url", nc.ConnectedUrl()) }),
	}
	if o.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if o.CAFile != "" {
		opts = append(opts, nats.RootCAs(o.CAFile))
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", o.URL, err)
	}
	return nc, nil
}
