package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/bwmarrin/snowflake"
	cloudevent "github.com/cloudevents/sdk-go/v2/event"
	"google.golang.org/grpc"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"

	"github.com/cloudevents-conductor/conductor/pkg/apis/work/payload"
	workv1 "github.com/cloudevents-conductor/conductor/pkg/apis/work/v1"
	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

// Labels and annotations the real work agent adds to its cached ManifestWork and echoes back in
// the metadata extension of every status event.
const (
	originalSourceLabel = "cloudevents.open-cluster-management.io/originalsource"
	dataTypeAnnotation  = "cloudevents.open-cluster-management.io/datatype"
)

// Work is the agent's view of one ManifestWork.
type Work struct {
	ResourceID string
	Name       string
	// Source is the spec event's source; echoed as originalsource on status events.
	Source     string
	Generation int64
	Manifests  []workv1.Manifest
	Deleting   bool
	// Reported is true once the status for this generation was accepted by the hub.
	Reported bool
}

// WorkAgentOptions configures a simulated work agent.
type WorkAgentOptions struct {
	ClusterName string
	// AgentID is the CloudEvents source; default "<cluster>-work-agent".
	AgentID        string
	InitialBackoff time.Duration
	Logger         *slog.Logger
}

// WorkAgent subscribes to manifestbundles, keeps its works in memory and reports their status.
type WorkAgent struct {
	opts   WorkAgentOptions
	stream *stream
	ids    *snowflake.Node
	queue  workqueue.TypedRateLimitingInterface[string]

	mu    sync.Mutex // guards works
	works map[string]*Work
}

// NewWorkAgent builds a work agent on an existing gRPC connection.
func NewWorkAgent(conn grpc.ClientConnInterface, opts WorkAgentOptions) (*WorkAgent, error) {
	if opts.ClusterName == "" {
		return nil, errors.New("work agent: cluster name is required")
	}
	if opts.AgentID == "" {
		opts.AgentID = opts.ClusterName + "-work-agent"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	// sdk-go agents number their status events with snowflake node 1; the hub compares them.
	ids, err := snowflake.NewNode(1)
	if err != nil {
		return nil, err
	}
	a := &WorkAgent{
		opts:  opts,
		ids:   ids,
		works: map[string]*Work{},
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 5*time.Second)),
	}
	a.stream = newStream(conn, StreamOptions{
		ClusterName:    opts.ClusterName,
		Source:         opts.AgentID,
		DataType:       cloudevents.ManifestBundlesDataType,
		InitialBackoff: opts.InitialBackoff,
		Logger:         opts.Logger,
	}, a)
	return a, nil
}

// Run subscribes (and resubscribes) and reports status until ctx ends.
func (a *WorkAgent) Run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		a.queue.ShutDown()
	}()
	go a.reportLoop(ctx)
	a.stream.run(ctx)
}

// Subscribed is signalled after each successful subscribe and resync.
func (a *WorkAgent) Subscribed() <-chan struct{} { return a.stream.subscribed }

// Works returns a snapshot of the cached works, sorted by resource id.
func (a *WorkAgent) Works() []Work {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Work, 0, len(a.works))
	for _, w := range a.works {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ResourceID < out[j].ResourceID })
	return out
}

// Work returns one cached work.
func (a *WorkAgent) Work(resourceID string) (Work, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w, ok := a.works[resourceID]
	if !ok {
		return Work{}, false
	}
	return *w, true
}

func (a *WorkAgent) resyncVersions() []cloudevents.ResourceVersionEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]cloudevents.ResourceVersionEntry, 0, len(a.works))
	for id, w := range a.works {
		out = append(out, cloudevents.ResourceVersionEntry{ResourceID: id, ResourceVersion: w.Generation})
	}
	return out
}

// handleSpec applies the agent's rules: upsert unless deletiontimestamp, ignore older generations.
func (a *WorkAgent) handleSpec(_ context.Context, evt cloudevent.Event) {
	id, err := cloudevents.ResourceID(evt)
	if err != nil {
		a.opts.Logger.Warn("spec event without resourceid", "id", evt.ID())
		return
	}
	generation, err := cloudevents.ResourceVersionInt(evt)
	if err != nil {
		// The real work agent's decoder requires resourceversion, even on deletions.
		a.opts.Logger.Warn("spec event without resourceversion", "resourceid", id, "err", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cached := a.works[id]
	if cloudevents.HasExtension(evt, cloudevents.ExtDeletionTimestamp) {
		if cached != nil {
			cached.Deleting = true
			a.queue.Add(id)
		}
		return
	}
	if cached != nil && generation != 0 && generation < cached.Generation {
		return
	}
	bundle := &payload.ManifestBundle{}
	if err := evt.DataAs(bundle); err != nil {
		a.opts.Logger.Warn("undecodable manifest bundle", "resourceid", id, "err", err)
		return
	}
	if cached != nil && cached.Generation == generation && !cached.Deleting {
		return
	}
	a.works[id] = &Work{ResourceID: id, Name: workName(evt, id), Source: evt.Source(), Generation: generation, Manifests: bundle.Manifests}
	a.queue.Add(id)
}

// workName is metadata.name from the metadata extension, or the resource id.
func workName(evt cloudevent.Event, id string) string {
	raw, err := cloudevents.Metadata(evt)
	if err != nil {
		return id
	}
	meta := metav1.ObjectMeta{}
	if json.Unmarshal([]byte(raw), &meta) != nil || meta.Name == "" {
		return id
	}
	return meta.Name
}

func (a *WorkAgent) reportLoop(ctx context.Context) {
	for {
		id, shutdown := a.queue.Get()
		if shutdown {
			return
		}
		if err := a.report(ctx, id); err != nil && ctx.Err() == nil {
			a.opts.Logger.Info("status report failed, retrying", "resourceid", id, "err", err)
			a.queue.AddRateLimited(id)
		} else {
			a.queue.Forget(id)
		}
		a.queue.Done(id)
	}
}

// report publishes the current status of one work; a deleted work is dropped once its Deleted
// status is accepted.
func (a *WorkAgent) report(ctx context.Context, id string) error {
	a.mu.Lock()
	w, ok := a.works[id]
	var snapshot Work
	if ok {
		snapshot = *w
	}
	a.mu.Unlock()
	if !ok {
		return nil
	}
	evt, err := a.statusEvent(snapshot)
	if err != nil {
		return err
	}
	if err := a.stream.publish(ctx, evt); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	current, ok := a.works[id]
	if !ok || current.Generation != snapshot.Generation || current.Deleting != snapshot.Deleting {
		return nil // changed meanwhile: it is queued again
	}
	if current.Deleting {
		delete(a.works, id)
		return nil
	}
	current.Reported = true
	return nil
}

func (a *WorkAgent) statusEvent(w Work) (cloudevent.Event, error) {
	evt := a.stream.newEvent(cloudevents.SubresourceStatus, cloudevents.ActionUpdateRequest)
	status := workStatus(w)
	hash, err := statusHash(status)
	if err != nil {
		return evt, err
	}
	meta, err := json.Marshal(metav1.ObjectMeta{
		Name: w.Name, Namespace: a.opts.ClusterName, UID: types.UID(w.ResourceID), Generation: w.Generation,
		Labels:      map[string]string{originalSourceLabel: w.Source},
		Annotations: map[string]string{dataTypeAnnotation: cloudevents.ManifestBundlesDataType.String()},
	})
	if err != nil {
		return evt, err
	}
	cloudevents.SetResourceID(&evt, w.ResourceID)
	if err := cloudevents.SetResourceVersionInt(&evt, w.Generation); err != nil {
		return evt, err
	}
	cloudevents.SetOriginalSource(&evt, w.Source)
	cloudevents.SetSequenceID(&evt, a.ids.Generate().String())
	cloudevents.SetStatusHash(&evt, hash)
	cloudevents.SetMetadata(&evt, string(meta))
	cloudevents.SetLogTracing(&evt, "{}")
	body, err := json.Marshal(payload.ManifestBundleStatus{Conditions: status.Conditions, ResourceStatus: status.ResourceStatus.Manifests})
	if err != nil {
		return evt, err
	}
	return evt, evt.SetData(cloudevent.ApplicationJSON, body)
}

// workStatus is what a healthy agent reports: every manifest applied and available, plus
// Deleted once the work is cleaned up.
func workStatus(w Work) workv1.ManifestWorkStatus {
	now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	cond := func(t, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: t, Status: metav1.ConditionTrue, ObservedGeneration: w.Generation, LastTransitionTime: now, Reason: reason, Message: msg}
	}
	status := workv1.ManifestWorkStatus{Conditions: []metav1.Condition{
		cond(workv1.WorkApplied, "AppliedManifestWorkComplete", "Apply manifest work complete"),
		cond(workv1.WorkAvailable, "ResourcesAvailable", "All resources are available"),
	}}
	for i, m := range w.Manifests {
		status.ResourceStatus.Manifests = append(status.ResourceStatus.Manifests, workv1.ManifestCondition{
			ResourceMeta: resourceMeta(int32(i), m),
			Conditions: []metav1.Condition{
				cond(workv1.WorkApplied, "AppliedManifestComplete", "Apply manifest complete"),
				cond(workv1.WorkAvailable, "ResourceAvailable", "Resource is available"),
			},
		})
	}
	if w.Deleting {
		deleted := cond(workv1.WorkDeleted, "ManifestsDeleted", fmt.Sprintf("The manifests are deleted since the work %s is deleted", w.Name))
		deleted.ObservedGeneration = 0
		status.Conditions = append(status.Conditions, deleted)
	}
	return status
}

func resourceMeta(ordinal int32, m workv1.Manifest) workv1.ManifestResourceMeta {
	obj := struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}{}
	_ = json.Unmarshal(m.Raw, &obj)
	group, version := "", obj.APIVersion
	for i := len(obj.APIVersion) - 1; i >= 0; i-- {
		if obj.APIVersion[i] == '/' {
			group, version = obj.APIVersion[:i], obj.APIVersion[i+1:]
			break
		}
	}
	return workv1.ManifestResourceMeta{Ordinal: ordinal, Group: group, Version: version, Kind: obj.Kind, Name: obj.Metadata.Name, Namespace: obj.Metadata.Namespace}
}

// statusHash is the sdk-go statushash: hex SHA-256 of the Go JSON of the work status.
func statusHash(status workv1.ManifestWorkStatus) (string, error) {
	raw, err := json.Marshal(status)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}
