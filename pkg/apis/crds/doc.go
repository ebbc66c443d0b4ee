// Package crds embeds the CustomResourceDefinitions generated from the types in pkg/apis, so tests
// and tools can install them into a kube-apiserver without reading files at run time.
package crds
