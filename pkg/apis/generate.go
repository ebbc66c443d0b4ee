package apis

// controller-gen is pinned by the tools module, so `go generate ./pkg/apis/...` gives the same
// output on every machine without touching the project's own go.mod.
//go:generate go tool -modfile=../../test/tools/controller-gen/go.mod controller-gen object paths=./...
//go:generate go tool -modfile=../../test/tools/controller-gen/go.mod controller-gen crd:crdVersions=v1 paths=./cluster/... paths=./work/v1/... paths=./addon/... output:crd:dir=./crds
