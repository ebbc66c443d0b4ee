// Package cloudevents is the conductor's model of OCM CloudEvents: the proto <-> event codec used on
// the agent-facing gRPC wire, event and data type strings, the registry of served data types, typed
// access to OCM extensions and the resync payloads. The wire facts come from protocol.md sections 1-2.
//
// Codec (protocol.md 1.3). Events are sdk-go v2 event.Event values; the wire form is
// pbv1.CloudEvent (package pb/v1).
//
//	ToProto(event.Event) (*pbv1.CloudEvent, error)   // binary mode, as sdk-go clients and servers send
//	FromProto(*pbv1.CloudEvent) (event.Event, error) // binary or structured mode, as sdk-go receives
//	NewHeartbeat() *pbv1.CloudEvent                  // bare heartbeat pushed on Subscribe streams
//	IsHeartbeat(*pbv1.CloudEvent) bool
//
// Wire constants: SpecVersion ("1.0"), AttributeKeyContentType ("contenttype"), AttributeKeyPrefix
// ("ce-"). Every codec error wraps ErrInvalidEvent, so a server can answer InvalidArgument with a single
// errors.Is check. More specific sentinels are wrapped as well: ErrUnknownEncoding (empty attribute
// map, unknown or unsupported structured format), ErrUnsupportedSpecVersion (anything but "1.0", also
// an ErrUnknownEncoding) and ErrInvalidAttribute (a value that has no wire form or cannot be read).
//
// Types (protocol.md 2.1).
//
//	DataType        string "<group>.<version>.<resource>". Constants: ManagedClustersDataType,
//	                CertificateSigningRequestsDataType, ManagedClusterAddOnsV1alpha1DataType,
//	                ManagedClusterAddOnsV1beta1DataType, EventsDataType, LeasesDataType,
//	                ManifestBundlesDataType, TokenRequestsDataType
//	ParseDataType(string) (DataType, error); DataType.Group/Version/Resource
//	EventType       {DataType, Subresource, Action}; EventType.String()
//	ParseEventType(string) (EventType, error); EventTypeOf(event.Event) (EventType, error)
//	Subresource     SubresourceSpec, SubresourceStatus
//	Action          ActionCreateRequest, ActionUpdateRequest, ActionDeleteRequest,
//	                ActionResyncRequest, ActionResyncResponse (ActionWatchRequest: authorizer only)
//	HeartbeatType   "io.open-cluster-management.cloudevents.heartbeat"
//
// Parse failures wrap ErrInvalidType.
//
// Registry (protocol.md 2.2, design.md 3). The eight served data types, each with its NATS subject key,
// its owning backends and the wire form of its resourceversion:
//
//	Registration{DataType, Key, Backends []Backend, ResourceVersion ResourceVersionFormat}
//	Registrations() []Registration        // all eight, fresh slice (nothing shared, nothing mutable)
//	Lookup(DataType) (Registration, bool)
//	LookupString(string) (Registration, bool)
//	LookupKey(busKey string) (Registration, bool)
//	Registration.BackendFor(originalSource string) (Backend, error)
//	        // single-backend types: that backend; ManifestBundles: "kube"/"kube::*" or
//	        // "maestro"/"maestro::*", anything else wraps ErrUnknownBackend
//	Backend         BackendKube, BackendMaestro
//	ResourceVersionFormat  ResourceVersionDecimalString, ResourceVersionInteger
//
// Extensions (protocol.md 2.3). Names are the Ext* constants (ExtResourceID, ExtResourceVersion,
// ExtClusterName, ExtOriginalSource, ExtDeletionTimestamp, ExtSequenceID, ExtStatusHash, ExtMetadata,
// ExtLogTracing). Getters return ErrMissingExtension when the extension is absent and
// ErrInvalidExtension when its value has the wrong type, as sdk-go receivers would reject it:
//
//	ClusterName, ResourceID, OriginalSource, SequenceID, StatusHash, Metadata, LogTracing (string)
//	ResourceVersionInt(event.Event) (int64, error)     // ce_integer or decimal string (ManifestBundles)
//	ResourceVersionString(event.Event) (string, error) // string only (other data types)
//	ResourceVersionNumber(event.Event, ResourceVersionFormat) (int64, error) // for resync comparisons
//	DeletionTimestamp(event.Event) (time.Time, error)  // ce_timestamp or RFC 3339 string
//	HasExtension(event.Event, name) bool
//	SetClusterName, SetResourceID, ..., SetResourceVersionInt (int32 range checked),
//	SetResourceVersionString, SetDeletionTimestamp
//
// Payloads: ResourceVersionList / ResourceVersionEntry (spec resync request,
// {"resourceVersions":[{"resourceID","resourceVersion"}]}) and StatusHashList / StatusHashEntry
// (status resync request, {"statusHashes":[{"resourceID","statusHash"}]}). Both marshal an empty list
// as [] (never null), as sdk-go agents do.
package cloudevents
