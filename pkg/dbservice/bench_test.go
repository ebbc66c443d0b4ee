package dbservice

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cloudevents-conductor/conductor/pkg/dbservice/maestrotest"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

// BenchmarkWriteStatus measures the status path against a real PostgreSQL: decode the agent's
// event, load the resource, take the advisory lock, run the checks, store the status, record the
// StatusUpdate event and NOTIFY, commit. Every write is accepted (a newer sequence id each time);
// 8 writers per CPU run in parallel, each on a resource of its own, as many agents would.
func BenchmarkWriteStatus(b *testing.B) {
	e, ids := benchResources(b)
	store := e.store
	ctx := b.Context()
	template := wireEvent(b, "agent-work-status-update-maestro.json")
	var n, writers atomic.Int64
	b.SetParallelism(8)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := ids[writers.Add(1)%int64(len(ids))]
		for pb.Next() {
			i := n.Add(1)
			evt := template.Clone()
			retarget(&evt, id, "cluster1", 1, makeSequenceID(statusBase.Add(time.Duration(i)*time.Millisecond), 1, 0))
			st, err := ParseAgentStatus(evt)
			if err != nil {
				b.Error(err)
				return
			}
			if outcome, err := store.WriteStatus(ctx, st); err != nil || outcome != StatusAccepted {
				b.Errorf("write %d: (%v, %v)", i, outcome, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
}

// BenchmarkStatusRequest measures the whole status path of a running db-service: a NATS request
// as the gateway sends it, the status writer, and the reply after the commit.
func BenchmarkStatusRequest(b *testing.B) {
	e, ids := benchResources(b)
	natsSrv := testenv.NATS(b)
	startService(b, e, natsSrv.ClientURL(), func(o *Options) { o.Logger = slog.New(slog.DiscardHandler) })
	nc := connectNATS(b, natsSrv.ClientURL())
	waitServing(b, nc)
	template := wireEvent(b, "agent-work-status-update-maestro.json")
	var n, writers atomic.Int64
	b.SetParallelism(8)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := ids[writers.Add(1)%int64(len(ids))]
		for pb.Next() {
			i := n.Add(1)
			evt := template.Clone()
			retarget(&evt, id, "cluster1", 1, makeSequenceID(statusBase.Add(time.Duration(i)*time.Millisecond), 1, 0))
			reply, err := sendStatus(b, nc, evt)
			if err != nil || !reply.OK() {
				b.Errorf("request %d: %v %v", i, err, reply.Err())
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
}

// benchResources makes 64 resources of consumer cluster1 in a fresh database.
func benchResources(b *testing.B) (*dbEnv, [64]string) {
	db := sharedPG.NewDatabase(b)
	pool := db.Pool(b)
	e := &dbEnv{db: db, pool: pool, store: NewStore(pool), maestro: maestrotest.New(pool)}
	if _, err := e.maestro.CreateConsumer(b.Context(), "cluster1"); err != nil {
		b.Fatal(err)
	}
	var ids [64]string
	for i := range ids {
		id, _, err := e.maestro.CreateResource(b.Context(), testBundle(uuid.NewString(), "cluster1"))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	return e, ids
}
