package codec

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	addonv1alpha1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1alpha1"
	addonv1beta1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1beta1"
	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	"github.com/cloudevents-conductor/conductor/pkg/apis/work/payload"
	workv1 "github.com/cloudevents-conductor/conductor/pkg/apis/work/v1"
	ce "github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

// Source is the event source of everything the hub services push.
const Source = string(ce.BackendKube)

// LogTracingAnnotationPrefix selects the ManifestWork annotations copied into the logtracing
// extension.
const LogTracingAnnotationPrefix = "logging.open-cluster-management.io/"

// Clock returns the current time; tests pass a fixed one.
type Clock func() time.Time

// Encoder builds push events. The zero value uses time.Now.
type Encoder struct {
	Now Clock
}

func (e Encoder) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// newEvent starts an event with the attributes and extensions every push carries.
func (e Encoder) newEvent(dt ce.DataType, action ce.Action, cluster string) event.Event {
	evt := event.New()
	evt.SetID(uuid.NewString())
	evt.SetSource(Source)
	evt.SetType(ce.EventType{DataType: dt, Subresource: ce.SubresourceSpec, Action: action}.String())
	evt.SetTime(e.now())
	ce.SetClusterName(&evt, cluster)
	// Present even though empty: sdk-go builds every event with it.
	ce.SetOriginalSource(&evt, "")
	return evt
}

// Tombstone prepares obj for a delete push: a copy whose deletionTimestamp is set (to now if the
// object had none), so the event is a deletion whatever state the informer last saw.
func Tombstone[T client.Object](e Encoder, obj T) T {
	deleted, ok := obj.DeepCopyObject().(T)
	if !ok {
		return obj
	}
	if deleted.GetDeletionTimestamp() == nil {
		ts := metav1.NewTime(e.now())
		deleted.SetDeletionTimestamp(&ts)
	}
	return deleted
}

// registrationEvent encodes a registration object (everything but ManifestWorks and token
// responses): string resourceversion, full object as data with typeMeta set.
func (e Encoder) registrationEvent(dt ce.DataType, action ce.Action, cluster string, obj client.Object, typeMeta metav1.TypeMeta) (event.Event, error) {
	evt := e.newEvent(dt, action, cluster)
	if uid := string(obj.GetUID()); uid != "" {
		ce.SetResourceID(&evt, uid)
	}
	if rv := obj.GetResourceVersion(); rv != "" {
		ce.SetResourceVersionString(&evt, rv)
	}
	if ts := obj.GetDeletionTimestamp(); ts != nil {
		ce.SetDeletionTimestamp(&evt, ts.Time)
		return evt, nil
	}
	data, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return event.Event{}, fmt.Errorf("codec: %T is not a client.Object", obj)
	}
	setTypeMeta(data, typeMeta)
	if err := evt.SetData(event.ApplicationJSON, data); err != nil {
		return event.Event{}, fmt.Errorf("codec: encoding %s %s: %w", dt, obj.GetName(), err)
	}
	return evt, nil
}

func setTypeMeta(obj runtime.Object, tm metav1.TypeMeta) {
	obj.GetObjectKind().SetGroupVersionKind(tm.GroupVersionKind())
}

// ManagedCluster encodes a cluster; its clustername is its own name.
func (e Encoder) ManagedCluster(action ce.Action, c *clusterv1.ManagedCluster) (event.Event, error) {
	return e.registrationEvent(ce.ManagedClustersDataType, action, c.Name, c,
		metav1.TypeMeta{APIVersion: clusterv1.SchemeGroupVersion.String(), Kind: "ManagedCluster"})
}

// CSR encodes a CertificateSigningRequest; its clustername is the cluster-name label, which must
// be set.
func (e Encoder) CSR(action ce.Action, csr *certificatesv1.CertificateSigningRequest) (event.Event, error) {
	cluster := csr.Labels[clusterv1.ClusterNameLabelKey]
	if cluster == "" {
		return event.Event{}, fmt.Errorf("codec: CSR %s has no %s label", csr.Name, clusterv1.ClusterNameLabelKey)
	}
	return e.registrationEvent(ce.CertificateSigningRequestsDataType, action, cluster, csr,
		metav1.TypeMeta{APIVersion: certificatesv1.SchemeGroupVersion.String(), Kind: "CertificateSigningRequest"})
}

// Lease encodes a Lease of a cluster namespace.
func (e Encoder) Lease(action ce.Action, lease *coordinationv1.Lease) (event.Event, error) {
	return e.registrationEvent(ce.LeasesDataType, action, lease.Namespace, lease,
		metav1.TypeMeta{APIVersion: coordinationv1.SchemeGroupVersion.String(), Kind: "Lease"})
}

// AddOnV1alpha1 encodes a v1alpha1 ManagedClusterAddOn.
func (e Encoder) AddOnV1alpha1(action ce.Action, addon *addonv1alpha1.ManagedClusterAddOn) (event.Event, error) {
	return e.registrationEvent(ce.ManagedClusterAddOnsV1alpha1DataType, action, addon.Namespace, addon,
		metav1.TypeMeta{APIVersion: addonv1alpha1.SchemeGroupVersion.String(), Kind: addonv1alpha1.ManagedClusterAddOnKind})
}

// AddOnV1beta1 encodes a v1beta1 ManagedClusterAddOn.
func (e Encoder) AddOnV1beta1(action ce.Action, addon *addonv1beta1.ManagedClusterAddOn) (event.Event, error) {
	return e.registrationEvent(ce.ManagedClusterAddOnsV1beta1DataType, action, addon.Namespace, addon,
		metav1.TypeMeta{APIVersion: addonv1beta1.SchemeGroupVersion.String(), Kind: addonv1beta1.ManagedClusterAddOnKind})
}

// TokenResponse encodes the answer to a token request: the TokenRequest the API server returned,
// with the agent's request id as UID. Like sdk-go, it sets no kind or apiVersion and no
// resourceversion.
func (e Encoder) TokenResponse(resp *authenticationv1.TokenRequest, requestID string) (event.Event, error) {
	evt := e.newEvent(ce.TokenRequestsDataType, ce.ActionCreateRequest, resp.Namespace)
	data := resp.DeepCopy()
	data.TypeMeta = metav1.TypeMeta{}
	data.UID = types.UID(requestID)
	if requestID != "" {
		ce.SetResourceID(&evt, requestID)
	}
	if err := evt.SetData(event.ApplicationJSON, data); err != nil {
		return event.Event{}, fmt.Errorf("codec: encoding token response %s/%s: %w", resp.Namespace, resp.Name, err)
	}
	return evt, nil
}

// ManifestWork encodes a work as a ManifestBundle spec event: resourceversion is the generation,
// metadata is the work's ObjectMeta as JSON and logtracing its logging annotations.
func (e Encoder) ManifestWork(action ce.Action, work *workv1.ManifestWork) (event.Event, error) {
	evt := e.newEvent(ce.ManifestBundlesDataType, action, work.Namespace)
	if uid := string(work.UID); uid != "" {
		ce.SetResourceID(&evt, uid)
	}
	generation, err := workGeneration(work)
	if err != nil {
		return event.Event{}, err
	}
	if err := ce.SetResourceVersionInt(&evt, generation); err != nil {
		return event.Event{}, fmt.Errorf("codec: work %s/%s: %w", work.Namespace, work.Name, err)
	}
	meta, err := workMetadata(work)
	if err != nil {
		return event.Event{}, err
	}
	ce.SetMetadata(&evt, meta)
	tracing, err := logTracing(work.Annotations)
	if err != nil {
		return event.Event{}, err
	}
	ce.SetLogTracing(&evt, tracing)
	if work.DeletionTimestamp != nil {
		ce.SetDeletionTimestamp(&evt, work.DeletionTimestamp.Time)
		return evt, nil
	}
	if err := evt.SetData(event.ApplicationJSON, payload.NewManifestBundle(&work.Spec)); err != nil {
		return event.Event{}, fmt.Errorf("codec: encoding work %s/%s: %w", work.Namespace, work.Name, err)
	}
	return evt, nil
}

// workGeneration is the work's generation, or (as sdk-go does for objects without one) its
// resourceVersion.
func workGeneration(work *workv1.ManifestWork) (int64, error) {
	if work.Generation != 0 {
		return work.Generation, nil
	}
	n, err := strconv.ParseInt(work.ResourceVersion, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("codec: work %s/%s has no generation and resourceVersion %q is not a number",
			work.Namespace, work.Name, work.ResourceVersion)
	}
	return n, nil
}

// workMetadata renders the metadata extension. Managed fields are left out: agents never use
// them and on a ManifestWork they can be larger than the rest of the metadata.
func workMetadata(work *workv1.ManifestWork) (string, error) {
	meta := work.ObjectMeta.DeepCopy()
	meta.ManagedFields = nil
	raw, err := json.Marshal(meta)
	if err != nil {
		return "", fmt.Errorf("codec: encoding metadata of work %s/%s: %w", work.Namespace, work.Name, err)
	}
	return string(raw), nil
}

func logTracing(annotations map[string]string) (string, error) {
	tracing := map[string]string{}
	for k, v := range annotations {
		if strings.HasPrefix(k, LogTracingAnnotationPrefix) {
			tracing[k] = v
		}
	}
	raw, err := json.Marshal(tracing)
	if err != nil {
		return "", fmt.Errorf("codec: encoding logtracing: %w", err)
	}
	return string(raw), nil
}
