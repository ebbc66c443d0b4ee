// Package dbservice is the db-service: it serves the `maestro` half of the conductor's bus
// (conductor.req.maestro.<cluster>.<key>) straight from Maestro's PostgreSQL database, so that it
// can replace the agent-facing part of a Maestro server started with --disable-message-broker=true.
//
// It does three things, each exactly as Maestro itself does them (see maestro.md §2):
//
//   - Status path: agent status updates are written with Maestro's status writer algorithm
//     (Store.WriteStatus), under the same FNV-1a advisory locks, with the same status_events rows and
//     NOTIFYs, so every Maestro server relays them to its source clients.
//   - Spec path: the `events` outbox is consumed with LISTEN events on a dedicated, self-healing
//     connection plus scans of unreconciled rows (at start-up, after every reconnect, periodically);
//     each event is claimed with a try-lock (Store.ProcessEvent) so any number of replicas deliver it
//     once, pushed to conductor.push.<cluster>.manifestbundles and then marked reconciled.
//   - Resync: an agent's spec.resync_request is answered by pushing the resources it lacks and
//     replying with the ids it holds that belong to Maestro.
//
// Service wires these to NATS; Store holds every SQL statement. Subpackage maestrotest writes to
// the database the way a Maestro server does, for tests and local stacks.
package dbservice
