// Package stack brings up the whole hub on one machine from real parts: etcd and kube-apiserver
// (envtest, binaries from `make test-tools`), a throwaway PostgreSQL with Maestro's schema, an
// embedded NATS server, the four conductor binaries as separate OS processes, the development
// stand-ins for the OCM registration controller (test/devhub) and Maestro's consumer REST API
// (pkg/maestro/devserver), and simulated klusterlets (test/agent).
//
// `make run` (test/localstack) and the e2e suite (test/e2e) both use it, so what a developer
// tries by hand is what CI tests. Every part can be stopped and started again for fault tests.
package stack
