// Command work-service serves the `kube` backend of the conductor bus from the hub
// kube-apiserver, as the OCM hub gRPC services do: agent requests in, informer changes out as
// pushes. Every replica serves and pushes; scale it by replicas.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cloudevents-conductor/conductor/pkg/process"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, process.ErrExit) {
			return
		}
		fmt.Fprintln(os.Stderr, "work-service:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	var opts options
	if err := opts.parse(args, out); err != nil {
		return err
	}
	ctx, stop := process.SignalContext()
	defer stop()
	return opts.serve(ctx)
}
