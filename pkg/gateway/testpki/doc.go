// Package testpki issues throwaway certificate authorities and certificates for the gateway's TLS
// and mTLS tests: serving certificates for 127.0.0.1 and localhost, and client certificates whose
// CN and O carry the user and groups the way the OCM gRPC CSR signer issues them.
package testpki
