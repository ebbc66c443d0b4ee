package dbservice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

const (
	// SpecSource is the source Maestro stamps on every spec event it sends to agents. Agents echo it
	// as originalsource on their status events, which is how the gateway routes those back here.
	SpecSource = "maestro"

	conditionDeleted = "Deleted"
)

// Resource is one row of Maestro's resources table, read unscoped (soft-deleted rows included).
type Resource struct {
	ID           string
	Name         string
	Source       string
	ConsumerName string
	Type         string
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
	DeletedAt    *time.Time // set: deletion requested, row kept until the agent confirms
	Payload      []byte     // spec CloudEvent as structured JSON (maestro.md §1.3)
	Status       []byte     // nil when there is no status (SQL NULL or JSON null)
}

// Deleting reports whether deletion of the resource was requested.
func (r *Resource) Deleting() bool { return r.DeletedAt != nil }

// AgentStatus is a decoded agent status.update_request for a Maestro resource bundle.
type AgentStatus struct {
	ResourceID      string
	ClusterName     string
	ResourceVersion int64
	SequenceID      string
	// Deleted is true when the agent reports the manifests gone (condition Deleted=True).
	Deleted bool
	// fields is the event in Maestro's storage form (§1.3): structured JSON with extensions
	// flattened and metadata as an object.
	fields map[string]json.RawMessage
}

// ParseAgentStatus decodes an agent status event into the form the status writer stores.
func ParseAgentStatus(evt event.Event) (*AgentStatus, error) {
	st := &AgentStatus{}
	var err error
	if st.ResourceID, err = nonEmpty(ce.ResourceID(evt)); err != nil {
		return nil, fmt.Errorf("status event resourceid: %w", err)
	}
	if st.ClusterName, err = nonEmpty(ce.ClusterName(evt)); err != nil {
		return nil, fmt.Errorf("status event clustername: %w", err)
	}
	if st.ResourceVersion, err = ce.ResourceVersionInt(evt); err != nil {
		return nil, fmt.Errorf("status event: %w", err)
	}
	// A missing sequenceid is refused later, as Maestro does, only when the status would be stored.
	if ce.HasExtension(evt, ce.ExtSequenceID) {
		if st.SequenceID, err = ce.SequenceID(evt); err != nil {
			return nil, fmt.Errorf("status event: %w", err)
		}
	}

	raw, err := json.Marshal(evt)
	if err != nil {
		return nil, fmt.Errorf("encoding status event: %w", err)
	}
	if err := json.Unmarshal(raw, &st.fields); err != nil {
		return nil, fmt.Errorf("decoding status event: %w", err)
	}
	// Header-based transports carry every extension as a string; Maestro stores the integer the
	// agent sent (ce_integer on the gRPC wire).
	st.fields[ce.ExtResourceVersion] = json.RawMessage(strconv.FormatInt(st.ResourceVersion, 10))
	if meta, ok := st.fields[ce.ExtMetadata]; ok {
		obj, err := metadataObject(meta)
		if err != nil {
			return nil, fmt.Errorf("status event metadata: %w", err)
		}
		st.fields[ce.ExtMetadata] = obj
	}
	st.Deleted, err = hasDeletedCondition(evt.Data())
	if err != nil {
		return nil, err
	}
	return st, nil
}

// storedJSON returns the status as Maestro stores it, with the spec payload's metadata (plus
// creationTimestamp) in place of the agent's, so that source clients see the work they created.
func (s *AgentStatus) storedJSON(r *Resource) ([]byte, error) {
	fields := make(map[string]json.RawMessage, len(s.fields))
	for k, v := range s.fields {
		fields[k] = v
	}
	specMeta, err := payloadMetadata(r.Payload)
	if err != nil {
		return nil, err
	}
	if specMeta != nil {
		specMeta["creationTimestamp"] = r.CreatedAt.UTC().Format(time.RFC3339)
		obj, err := json.Marshal(specMeta)
		if err != nil {
			return nil, fmt.Errorf("encoding metadata: %w", err)
		}
		fields[ce.ExtMetadata] = obj
	}
	return json.Marshal(fields)
}

// payloadMetadata returns the metadata object of a stored spec payload, nil if it has none.
func payloadMetadata(payload []byte) (map[string]any, error) {
	if len(payload) == 0 {
		return nil, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(payload, &fields); err != nil {
		return nil, fmt.Errorf("decoding resource payload: %w", err)
	}
	raw, ok := fields[ce.ExtMetadata]
	if !ok || isJSONNull(raw) {
		return nil, nil
	}
	obj, err := metadataObject(raw)
	if err != nil {
		return nil, fmt.Errorf("resource payload metadata: %w", err)
	}
	meta := map[string]any{}
	if err := json.Unmarshal(obj, &meta); err != nil {
		return nil, fmt.Errorf("resource payload metadata: %w", err)
	}
	return meta, nil
}

// metadataObject accepts the metadata extension as a JSON string (wire form) or an object
// (storage form) and returns the object.
func metadataObject(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		raw = json.RawMessage(s)
	}
	if !json.Valid(raw) {
		return nil, errors.New("not valid JSON")
	}
	return raw, nil
}

func hasDeletedCondition(data []byte) (bool, error) {
	if len(data) == 0 {
		return false, nil
	}
	var status struct {
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
	}
	if err := json.Unmarshal(data, &status); err != nil {
		return false, fmt.Errorf("decoding status data: %w", err)
	}
	for _, c := range status.Conditions {
		if c.Type == conditionDeleted && c.Status == "True" {
			return true, nil
		}
	}
	return false, nil
}

// storedSequenceID returns the sequenceid of a stored status ("" when there is no status).
func storedSequenceID(status []byte) (string, error) {
	if len(status) == 0 {
		return "", nil
	}
	var fields map[string]any
	if err := json.Unmarshal(status, &fields); err != nil {
		return "", fmt.Errorf("decoding stored status: %w", err)
	}
	seq, ok := fields[ce.ExtSequenceID].(string)
	if !ok || seq == "" {
		return "", errors.New("stored status has no sequenceid")
	}
	return seq, nil
}

// jsonEqual compares two JSON documents by value, as Maestro's reflect.DeepEqual of JSON maps does.
func jsonEqual(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// SpecEvent builds the CloudEvent Maestro sends an agent for a resource (maestro.md §2.3 step 5):
// the stored payload with metadata restored to a string, source "maestro", the given action,
// resourceid, resourceversion = resources.version, clustername = consumer, deletiontimestamp when
// deleting, and a fresh id and time.
func SpecEvent(r *Resource, action ce.Action, now time.Time) (*event.Event, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(r.Payload, &fields); err != nil {
		return nil, fmt.Errorf("decoding payload of resource %s: %w", r.ID, err)
	}
	if meta, ok := fields[ce.ExtMetadata]; ok && !isJSONNull(meta) {
		obj, err := metadataObject(meta)
		if err != nil {
			return nil, fmt.Errorf("payload metadata of resource %s: %w", r.ID, err)
		}
		str, err := json.Marshal(string(obj))
		if err != nil {
			return nil, err
		}
		fields[ce.ExtMetadata] = str
	}
	// resourceversion is overwritten below; the stored one is whatever the source sent and may not
	// even fit the CloudEvents integer type.
	delete(fields, ce.ExtResourceVersion)
	raw, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	evt := event.New()
	if err := json.Unmarshal(raw, &evt); err != nil {
		return nil, fmt.Errorf("payload of resource %s is not a CloudEvent: %w", r.ID, err)
	}
	evt.SetID(uuid.NewString())
	evt.SetTime(now)
	evt.SetSource(SpecSource)
	evt.SetType(ce.EventType{DataType: ce.ManifestBundlesDataType, Subresource: ce.SubresourceSpec, Action: action}.String())
	ce.SetResourceID(&evt, r.ID)
	ce.SetClusterName(&evt, r.ConsumerName)
	if err := ce.SetResourceVersionInt(&evt, r.Version); err != nil {
		return nil, fmt.Errorf("spec event for resource %s: %w", r.ID, err)
	}
	if r.DeletedAt != nil {
		ce.SetDeletionTimestamp(&evt, r.DeletedAt.UTC())
	}
	if err := evt.Validate(); err != nil {
		return nil, fmt.Errorf("spec event for resource %s: %w", r.ID, err)
	}
	return &evt, nil
}

func isJSONNull(raw []byte) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

func nonEmpty(s string, err error) (string, error) {
	if err == nil && s == "" {
		err = errors.New("empty")
	}
	return s, err
}
