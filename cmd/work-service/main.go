// Command work-service serves the `kube` backend of the conductor bus from the hub
// kube-apiserver, as the OCM hub gRPC services do: agent requests in, informer changes out as
// pushes. Every replica serves and pushes; scale it by replicas.
package main

import (
	"io"

	"github.com/cloudevents-conductor/conductor/pkg/process"
)

func main() { process.Main("work-service", run) }

func run(args []string, out io.Writer) error {
	var opts options
	if err := opts.parse(args, out); err != nil {
		return err
	}
	ctx, stop := process.SignalContext()
	defer stop()
	return opts.serve(ctx)
}
