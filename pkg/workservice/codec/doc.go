// Package codec turns hub Kubernetes objects into the spec events the OCM hub gRPC services push
// to agents, and agent event data back into objects. It is pure: no API server, no bus.
//
// Every event is built the way the sdk-go codecs build them (protocol.md 2.2, 2.3, 4, 4.1):
// source "kube", a uuid id, the current time, clustername, an originalsource extension that is
// present but empty, resourceid = the object UID (left out when empty) and resourceversion (the
// resourceVersion as a decimal string, or for ManifestWorks the generation as an integer). An object
// with a deletionTimestamp becomes a tombstone: the deletiontimestamp extension and no data.
// Registration objects carry their full JSON with kind and apiVersion set; ManifestWorks carry a
// ManifestBundle plus the metadata and logtracing extensions; token responses carry the
// TokenRequest without kind and apiVersion, with the request id as UID and resourceid.
package codec
