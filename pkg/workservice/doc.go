// Package workservice is the conductor's "kube" backend: it does for agents what the OCM hub gRPC
// services do (protocol.md section 4), against the hub kube-apiserver, with NATS as its only link
// to the gateways.
//
// Requests arrive on conductor.req.kube.<cluster>.<key> in queue group "work-service", so each is
// handled by one replica. Each is answered with OK, a resync answer (the IDs it owns) or a
// metav1.Status: malformed data and unsupported actions are BadRequest, an event whose cluster does
// not match the object it names is BadRequest, Kubernetes API errors keep their reason and code.
//
//	data type              action                  effect
//	managedclusters        spec.create_request     Create (clusterset label dropped)
//	                       status.update_request   UpdateStatus with the agent's object (Conflict if stale)
//	                       spec.update_request     Update, keeping the hub's clusterset label
//	certificatesigningrequests spec.create_request Create with annotations exactly
//	                                               {open-cluster-management.io/csr-user: <user>}; an
//	                                               agent identity may only ask for its own cluster
//	managedclusteraddons   status.update_request   UpdateStatus (v1alpha1 and v1beta1 alike)
//	events                 spec.create_request     Create
//	                       spec.update_request     copy .series onto the stored event; NotFound is OK
//	leases                 spec.update_request     Update (Conflict and NotFound reach the agent)
//	manifestbundles        status.update_request   protocol.md 4.2: find the work by UID (unknown: OK),
//	                                               Deleted=True removes the cleanup finalizer, a stale
//	                                               generation is ignored, otherwise ensure the
//	                                               finalizer and merge-patch the status
//	tokenrequests          spec.create_request     CreateToken, then push the answer to the cluster
//	any                    spec.resync_request     section 3.5, from the informer caches
//
// Pushes: one shared informer per resource type for all clusters (CSRs and leases only when
// labelled open-cluster-management.io/cluster-name) turns changes into spec events on
// conductor.push.<cluster>.<key>, built by package codec. Every replica pushes what it sees, so a
// change is not lost while another replica restarts; gateways drop the duplicates. The initial
// list and informer resyncs (same resourceVersion) push nothing; agents catch up by resync.
// ManifestWork updates are pushed only when labels, annotations or generation changed or the work
// is being deleted. ManagedClusters have no delete push (as in OCM); events and token requests
// have no informer.
//
// Resync answers push a resync_response for every object that is deleting or newer than the
// agent's copy (or has version 0) and reply with the IDs from the agent's list that exist; the
// gateway sends the deletions. Events answer MethodNotSupported, token requests own nothing.
package workservice
