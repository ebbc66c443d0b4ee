// Package certs builds the gateway's serving TLS configuration from files that are reloaded when
// they change on disk (a rotated Secret), using the kube-apiserver's own dynamic certificate
// machinery (k8s.io/apiserver/pkg/server/dynamiccertificates).
//
// TLS 1.2 to 1.3 (sdk-go clients pin 1.3). With a client CA, client certificates are requested
// and verified if presented (tls.VerifyClientCertIfGiven), so token-authenticated agents without
// a certificate still connect.
package certs
