package process

import (
	"flag"
	"log/slog"
)

// CommonOptions are the flags every conductor binary has.
type CommonOptions struct {
	OpsAddr   string
	LogFormat string
	LogLevel  string
}

// AddFlags registers the common flags; defaultOpsAddr differs per binary so they can share a host.
func (o *CommonOptions) AddFlags(fs *flag.FlagSet, defaultOpsAddr string) {
	fs.StringVar(&o.OpsAddr, "ops-addr", defaultOpsAddr, "listen address of /healthz, /readyz and /metrics (empty disables)")
	fs.StringVar(&o.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
}

// Logger builds the logger the flags describe.
func (o *CommonOptions) Logger() (*slog.Logger, error) {
	return NewLogger(o.LogFormat, o.LogLevel)
}
