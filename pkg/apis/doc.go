// Package apis holds the Go types of the Open Cluster Management APIs the conductor reads and writes
// (ManagedCluster, ManifestWork, ManagedClusterAddOn), their generated deep-copy functions and CRDs.
//
// The open-cluster-management.io modules are not available to this project, so the types are kept
// here. Their JSON field names follow the upstream CRDs exactly, so objects written by the real
// klusterlet agents and the real OCM hub round trip through these types without loss.
package apis
