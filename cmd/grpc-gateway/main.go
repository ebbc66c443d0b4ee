// Command grpc-gateway is the agent-facing edge of the conductor: it serves
// io.cloudevents.v1.CloudEventService to klusterlet agents and relays over NATS to the backends.
package main

import (
	"io"

	"k8s.io/klog/v2"

	"github.com/cloudevents-conductor/conductor/pkg/process"
)

func main() { process.Main("grpc-gateway", run) }

func run(args []string, out io.Writer) error {
	var opts options
	if err := opts.parse(args, out); err != nil {
		return err
	}
	logger, err := opts.common.Logger()
	if err != nil {
		return err
	}
	// client-go and the certificate reloader log through klog; send it to the same place.
	klog.SetSlogLogger(logger)
	ctx, stop := process.SignalContext()
	defer stop()
	return opts.serve(ctx, logger)
}
