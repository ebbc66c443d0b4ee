package fanout

import (
	"hash/fnv"
	"io"
	"slices"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

// StateOf extracts the Dedup state of a pushed event. format is the data type's resourceversion
// form; an unreadable resourceversion counts as none.
func StateOf(e event.Event, format cloudevents.ResourceVersionFormat) State {
	s := State{Digest: digest(e)}
	s.ResourceID, _ = cloudevents.ResourceID(e)
	if v, err := cloudevents.ResourceVersionNumber(e, format); err == nil && v > 0 {
		s.Version = v
	}
	s.Deleted = cloudevents.HasExtension(e, cloudevents.ExtDeletionTimestamp)
	return s
}

// digest hashes what distinguishes one state of a resource from another. It leaves out what
// differs between two pushes of the same state: id, time, the action in the type (a resync
// response repeats an update), and deletiontimestamp (each replica stamps its own).
func digest(e event.Event) uint64 {
	h := fnv.New64a()
	write := func(parts ...string) {
		for _, p := range parts {
			_, _ = io.WriteString(h, p)
			_, _ = h.Write([]byte{0})
		}
	}
	write(e.Source(), e.DataContentType(), e.DataSchema(), e.Subject())
	exts := e.Extensions()
	names := make([]string, 0, len(exts))
	for name := range exts {
		if name != cloudevents.ExtDeletionTimestamp {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		value, err := types.Format(exts[name])
		if err != nil {
			value = "<unformattable>"
		}
		write(name, value)
	}
	_, _ = h.Write(e.Data())
	return h.Sum64()
}
