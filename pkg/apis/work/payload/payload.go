package payload

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	workv1 "github.com/cloudevents-conductor/conductor/pkg/apis/work/v1"
)

// ManifestBundle is the data of a manifestbundles spec event: the spec of one ManifestWork.
type ManifestBundle struct {
	// Manifests are the Kubernetes objects to apply. Always present on the wire.
	Manifests []workv1.Manifest `json:"manifests"`

	// DeleteOption is how the objects are deleted with the work.
	DeleteOption *workv1.DeleteOption `json:"deleteOption,omitempty"`

	// ManifestConfigs configure individual manifests.
	ManifestConfigs []workv1.ManifestConfigOption `json:"manifestConfigs,omitempty"`

	// Executer is spec.executor of the work; sdk-go spells the JSON key "executer".
	Executer *workv1.ManifestWorkExecutor `json:"executer,omitempty"`
}

// ManifestBundleStatus is the data of a manifestbundles status event: the status of one
// ManifestWork as its work agent reports it.
type ManifestBundleStatus struct {
	// ManifestBundle is the spec the status belongs to. Agents leave it out; Maestro adds it when
	// it broadcasts a status to sources that keep no spec cache.
	ManifestBundle *ManifestBundle `json:"manifestBundle,omitempty"`

	// Conditions are the work's conditions; agents add Deleted once a deleted work is cleaned up.
	Conditions []metav1.Condition `json:"conditions"`

	// ResourceStatus is the status of each applied object: status.resourceStatus.manifests of the
	// ManifestWork.
	ResourceStatus []workv1.ManifestCondition `json:"resourceStatus,omitempty"`
}

// NewManifestBundle builds the bundle that carries spec to a work agent. The bundle shares
// spec's slices and pointers; DeepCopy spec first if either side is modified afterwards.
func NewManifestBundle(spec *workv1.ManifestWorkSpec) *ManifestBundle {
	return &ManifestBundle{
		Manifests:       spec.Workload.Manifests,
		DeleteOption:    spec.DeleteOption,
		ManifestConfigs: spec.ManifestConfigs,
		Executer:        spec.Executor,
	}
}

// WorkSpec is the ManifestWork spec the bundle carries.
func (b *ManifestBundle) WorkSpec() workv1.ManifestWorkSpec {
	return workv1.ManifestWorkSpec{
		Workload:        workv1.ManifestsTemplate{Manifests: b.Manifests},
		DeleteOption:    b.DeleteOption,
		ManifestConfigs: b.ManifestConfigs,
		Executor:        b.Executer,
	}
}

// WorkStatus is the ManifestWork status the bundle status reports.
func (s *ManifestBundleStatus) WorkStatus() workv1.ManifestWorkStatus {
	return workv1.ManifestWorkStatus{
		Conditions:     s.Conditions,
		ResourceStatus: workv1.ManifestResourceStatus{Manifests: s.ResourceStatus},
	}
}
