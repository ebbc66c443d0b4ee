// Package devhub is a development stand-in for the parts of the OCM hub the conductor does not
// replace: the registration controller that accepts ManagedClusters, gives each cluster its
// namespace, lease and RBAC, and approves and signs the klusterlets' gRPC CSRs with a local CA.
// `make run` and the e2e suite use it; production hubs run the real cluster-manager instead.
package devhub
