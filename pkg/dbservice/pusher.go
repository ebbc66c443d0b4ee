package dbservice

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"k8s.io/client-go/util/workqueue"
)

// specPusher drains the events outbox. Event ids come from NOTIFYs and from scans of unreconciled
// rows; a rate-limited work queue deduplicates them and retries failures with backoff. Each id is
// handled by Store.ProcessEvent, whose try-lock keeps every event to one replica.
type specPusher struct {
	store   *Store
	push    PushFunc
	queue   workqueue.TypedRateLimitingInterface[string]
	metrics *metrics
	logger  *slog.Logger

	mu         sync.Mutex
	notifiedAt map[string]time.Time // NOTIFY arrival per queued id, for the latency metric

	scanRequests chan struct{}
}

func newSpecPusher(store *Store, push PushFunc, m *metrics, logger *slog.Logger) *specPusher {
	return &specPusher{
		store:   store,
		push:    push,
		metrics: m,
		logger:  logger,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "db-service-events"}),
		notifiedAt:   map[string]time.Time{},
		scanRequests: make(chan struct{}, 1),
	}
}

// notified queues an event id received by NOTIFY.
func (p *specPusher) notified(eventID string, at time.Time) {
	p.mu.Lock()
	if _, seen := p.notifiedAt[eventID]; !seen {
		p.notifiedAt[eventID] = at
	}
	p.mu.Unlock()
	p.queue.Add(eventID)
}

// requestScan asks for a scan of unreconciled events soon; requests made while one is pending
// coalesce.
func (p *specPusher) requestScan() {
	select {
	case p.scanRequests <- struct{}{}:
	default:
	}
}

// runScanner scans on request and every period. Periodic scans also purge old reconciled events
// when purgeAfter is positive.
func (p *specPusher) runScanner(ctx context.Context, period, purgeAfter time.Duration) {
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.scanRequests:
		case <-ticker.C:
			if purgeAfter > 0 {
				if n, err := p.store.PurgeReconciledEvents(ctx, purgeAfter); err != nil {
					p.logger.Warn("purging reconciled events failed", "error", err)
				} else if n > 0 {
					p.logger.Info("purged reconciled events", "count", n)
				}
			}
		}
		p.scanUntilDone(ctx)
	}
}

// scanUntilDone retries a failed scan with backoff: a scan after a reconnect is what recovers
// NOTIFYs lost while the database was away, so it must not wait for the next period.
func (p *specPusher) scanUntilDone(ctx context.Context) {
	_, _ = backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, p.scan(ctx) },
		backoff.WithBackOff(newReconnectBackOff()), backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, next time.Duration) {
			p.logger.Warn("scanning unreconciled events failed, retrying", "retryIn", next, "error", err)
		}))
}

func (p *specPusher) scan(ctx context.Context) error {
	ids, err := p.store.UnreconciledEventIDs(ctx)
	if err != nil {
		return err
	}
	p.metrics.unreconciled.Set(float64(len(ids)))
	p.metrics.scans.Inc()
	for _, id := range ids {
		p.queue.Add(id)
	}
	if len(ids) > 0 {
		p.logger.Debug("queued unreconciled events", "count", len(ids))
	}
	return nil
}

// runWorkers processes queued events with n workers until ctx ends and returns when all stopped.
func (p *specPusher) runWorkers(ctx context.Context, n int) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for p.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	p.queue.ShutDown()
	wg.Wait()
}

func (p *specPusher) processNext(ctx context.Context) bool {
	id, shutdown := p.queue.Get()
	if shutdown {
		return false
	}
	defer p.queue.Done(id)
	outcome, err := p.store.ProcessEvent(ctx, id, p.push)
	if err != nil {
		if ctx.Err() == nil {
			p.logger.Warn("spec event not delivered, will retry", "eventID", id, "error", err)
			p.queue.AddRateLimited(id)
		}
		return true
	}
	p.queue.Forget(id)
	p.mu.Lock()
	at, wasNotified := p.notifiedAt[id]
	delete(p.notifiedAt, id)
	p.mu.Unlock()
	if outcome == SpecPushed && wasNotified {
		p.metrics.notifyToPush.Observe(time.Since(at).Seconds())
	}
	p.logger.Debug("spec event handled", "eventID", id, "outcome", outcome.String())
	return true
}
