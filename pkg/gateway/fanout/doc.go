// Package fanout delivers the events backends push on the bus (conductor.push.<cluster>.<key>) to
// the Subscribe streams of one gateway process.
//
// A Hub holds one NATS subscription per (cluster, data type), shared by every local stream of
// that pair and reference counted: the first Subscribe creates it and waits until the server has
// it (flush), the last Close removes it. Each message is decoded and converted to the agent wire
// form once, then offered to every Subscriber of the pair.
//
// A Subscriber has a bounded queue and never blocks the hub: a subscriber whose queue is full is
// ended with ErrSlowSubscriber, so its agent reconnects and resyncs while the others keep
// receiving. Several backend replicas push the same change, so each Subscriber filters events
// through a Dedup, which forwards each distinct state of a resource once and never a version
// older than one already forwarded.
//
// When an event may have been lost (the NATS connection dropped, or the NATS client dropped
// messages of a slow subscription), the affected subscribers are ended with ErrEventsLost: an
// agent only catches up through the resync it sends after reconnecting.
package fanout
