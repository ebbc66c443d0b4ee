package agent

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"

	cloudevent "github.com/cloudevents/sdk-go/v2/event"

	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

// object is one cached hub object of a registration stream, kept as the JSON the hub pushed.
type object struct {
	ResourceID      string
	ResourceVersion string
	Data            []byte
}

// objectCache is the agent-side informer store of one registration data type.
type objectCache struct {
	mu      sync.Mutex // guards objects
	objects map[string]object
	changed chan struct{} // closed and replaced on every change, so waiters can block on it
}

func newObjectCache() *objectCache {
	return &objectCache{objects: map[string]object{}, changed: make(chan struct{})}
}

func (c *objectCache) handleSpec(_ context.Context, evt cloudevent.Event) {
	id, err := cloudevents.ResourceID(evt)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cloudevents.HasExtension(evt, cloudevents.ExtDeletionTimestamp) {
		delete(c.objects, id)
	} else {
		rv, _ := cloudevents.ResourceVersionString(evt)
		c.objects[id] = object{ResourceID: id, ResourceVersion: rv, Data: evt.Data()}
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// resyncVersions lists the cache; resourceVersions are numeric on every object the hub serves.
func (c *objectCache) resyncVersions() []cloudevents.ResourceVersionEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]cloudevents.ResourceVersionEntry, 0, len(c.objects))
	for id, o := range c.objects {
		rv, _ := strconv.ParseInt(o.ResourceVersion, 10, 64)
		out = append(out, cloudevents.ResourceVersionEntry{ResourceID: id, ResourceVersion: rv})
	}
	return out
}

// find decodes the first cached object for which match returns true into out.
func (c *objectCache) find(out any, match func(raw []byte) bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range c.objects {
		if match(o.Data) {
			return json.Unmarshal(o.Data, out) == nil
		}
	}
	return false
}

// waitFor blocks until find succeeds or ctx ends.
func (c *objectCache) waitFor(ctx context.Context, out any, match func(raw []byte) bool) error {
	for {
		c.mu.Lock()
		changed := c.changed
		c.mu.Unlock()
		if c.find(out, match) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}
