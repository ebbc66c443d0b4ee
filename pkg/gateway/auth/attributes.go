package auth

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloudevents-conductor/conductor/pkg/cloudevents"
)

// ErrInvalidData means the event data could not be read for authorization (the token request
// name); the request is malformed rather than denied.
var ErrInvalidData = errors.New("invalid event data")

// Kubernetes API group and resource of ManifestWorks, which ManifestBundles stand for.
const (
	workGroup    = "work.open-cluster-management.io"
	workResource = "manifestworks"
)

// Verbs of protocol.md 5.2 beyond the action mapping.
const (
	verbCreate    = "create"
	verbWatch     = "watch"
	verbSubscribe = "subscribe"
)

var actionVerbs = map[cloudevents.Action]string{
	cloudevents.ActionCreateRequest: "create",
	cloudevents.ActionUpdateRequest: "update",
	cloudevents.ActionDeleteRequest: "delete",
	cloudevents.ActionResyncRequest: "list",
	cloudevents.ActionWatchRequest:  verbWatch,
}

// PublishAttributes maps a published event to SubjectAccessReview attributes: namespace = the
// event's cluster, verb from the action, group/resource/subresource/name from the data type
// (protocol.md 5.2). data is the event data; only token requests read it (metadata.name).
// Actions and data types outside the table are denied.
func PublishAttributes(id Identity, cluster string, t cloudevents.EventType, data []byte) (Attributes, error) {
	verb, ok := actionVerbs[t.Action]
	if !ok || t.Action == cloudevents.ActionWatchRequest {
		return Attributes{}, fmt.Errorf("%w: action %q is not authorized for publishing", ErrDenied, t.Action)
	}
	attrs, err := resourceAttributes(id, cluster, t.DataType, t.Subresource)
	if err != nil {
		return Attributes{}, err
	}
	attrs.Verb = verb
	if t.DataType == cloudevents.TokenRequestsDataType {
		attrs.Verb = verbCreate
		if attrs.Name, err = objectName(data); err != nil {
			return Attributes{}, err
		}
	}
	return attrs, nil
}

// SubscribeAttributes maps a subscription to SubjectAccessReview attributes: verb watch (token
// requests: subscribe) on the spec of the data type's resource in namespace = cluster.
func SubscribeAttributes(id Identity, cluster string, dt cloudevents.DataType) (Attributes, error) {
	attrs, err := resourceAttributes(id, cluster, dt, cloudevents.SubresourceSpec)
	if err != nil {
		return Attributes{}, err
	}
	attrs.Verb = verbWatch
	if dt == cloudevents.TokenRequestsDataType {
		attrs.Verb = verbSubscribe
	}
	return attrs, nil
}

// resourceAttributes fills everything but the verb.
func resourceAttributes(id Identity, cluster string, dt cloudevents.DataType, sub cloudevents.Subresource) (Attributes, error) {
	attrs := Attributes{User: id, Namespace: cluster}
	if sub == cloudevents.SubresourceStatus {
		attrs.Subresource = "status"
	}
	switch dt {
	case cloudevents.ManagedClustersDataType:
		attrs.Group, attrs.Resource, attrs.Name = dt.Group(), dt.Resource(), cluster
	case cloudevents.CertificateSigningRequestsDataType, cloudevents.LeasesDataType, cloudevents.EventsDataType,
		cloudevents.ManagedClusterAddOnsV1alpha1DataType, cloudevents.ManagedClusterAddOnsV1beta1DataType:
		attrs.Group, attrs.Resource = dt.Group(), dt.Resource()
	case cloudevents.ManifestBundlesDataType:
		attrs.Group, attrs.Resource = workGroup, workResource
	case cloudevents.TokenRequestsDataType:
		attrs.Group, attrs.Resource, attrs.Subresource = "", "serviceaccounts", "token"
	default:
		return Attributes{}, fmt.Errorf("%w: data type %q is not served", ErrDenied, dt)
	}
	return attrs, nil
}

// objectName reads metadata.name from JSON event data; absent data or name is "".
func objectName(data []byte) (string, error) {
	if len(data) == 0 {
		return "", nil
	}
	var obj struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return "", fmt.Errorf("%w: reading metadata.name: %w", ErrInvalidData, err)
	}
	return obj.Metadata.Name, nil
}
