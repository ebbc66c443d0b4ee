// Command consumer-controller gives every accepted and joined ManagedCluster a Maestro consumer of
// the same name through Maestro's REST API, keeps its labels in sync, and deletes it (through a
// finalizer) when the cluster goes. Run it with leader election: one active replica, any number of
// standbys.
package main

import (
	"io"

	"github.com/cloudevents-conductor/conductor/pkg/process"
)

func main() { process.Main("consumer-controller", run) }

func run(args []string, out io.Writer) error {
	var opts options
	if err := opts.parse(args, out); err != nil {
		return err
	}
	ctx, stop := process.SignalContext()
	defer stop()
	return opts.serve(ctx)
}
