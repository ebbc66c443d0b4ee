// Command db-service serves the `maestro` backend of the conductor bus from Maestro's PostgreSQL
// database: agent status writes, spec pushes from the events outbox, and spec resync answers.
package main

import (
	"io"

	"github.com/cloudevents-conductor/conductor/pkg/process"
)

func main() { process.Main("db-service", run) }

func run(args []string, out io.Writer) error {
	var opts options
	if err := opts.parse(args, out); err != nil {
		return err
	}
	ctx, stop := process.SignalContext()
	defer stop()
	return opts.serve(ctx)
}
