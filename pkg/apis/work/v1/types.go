package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Condition types of ManifestWork.status.conditions and of each manifest's conditions.
const (
	WorkApplied     = "Applied"
	WorkAvailable   = "Available"
	WorkDegraded    = "Degraded"
	WorkProgressing = "Progressing"
	// WorkDeleted is only reported by work agents, after they removed a deleted work's resources.
	WorkDeleted = "Deleted"
	// ManifestComplete marks a manifest whose condition rules say it has finished.
	ManifestComplete = "Complete"
	// ManifestStatusFeedbackSynced is True once a manifest's status feedback was collected.
	ManifestStatusFeedbackSynced = "StatusFeedbackSynced"
)

const (
	// ManifestWorkFinalizer keeps a ManifestWork until its agent reported the resources deleted.
	ManifestWorkFinalizer = "cluster.open-cluster-management.io/manifest-work-cleanup"
	// DefaultFieldManager is the server-side apply field manager used when none is set.
	DefaultFieldManager = "work-agent"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status

// ManifestWork is a set of Kubernetes objects the hub wants applied on one managed cluster. It lives
// in the cluster's namespace on the hub; the cluster's work agent applies it and reports status.
type ManifestWork struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the workload to deploy and how to deploy it.
	// +optional
	Spec ManifestWorkSpec `json:"spec"`

	// Status is what the work agent reports about the workload.
	// +optional
	Status ManifestWorkStatus `json:"status,omitempty"`
}

// ManifestWorkSpec is the workload to deploy on a managed cluster and how to deploy it.
type ManifestWorkSpec struct {
	// workload holds the manifests to deploy.
	// +optional
	Workload ManifestsTemplate `json:"workload,omitempty"`

	// deleteOption is how the deployed resources are deleted with the work; Foreground when unset.
	// +optional
	DeleteOption *DeleteOption `json:"deleteOption,omitempty"`

	// manifestConfigs configure individual manifests of the workload.
	// +optional
	ManifestConfigs []ManifestConfigOption `json:"manifestConfigs,omitempty"`

	// executor is the identity the work agent applies the manifests as; the agent's own when unset.
	// +optional
	Executor *ManifestWorkExecutor `json:"executor,omitempty"`
}

// ManifestsTemplate is the workload of a ManifestWork.
type ManifestsTemplate struct {
	// manifests are the Kubernetes objects to deploy.
	// +optional
	Manifests []Manifest `json:"manifests,omitempty"`
}

// Manifest is one Kubernetes object of a workload, kept as raw JSON.
type Manifest struct {
	// +kubebuilder:validation:EmbeddedResource
	// +kubebuilder:pruning:PreserveUnknownFields
	runtime.RawExtension `json:",inline"`
}

// DeletePropagationPolicyType is how deployed resources are treated when their work is deleted.
// +kubebuilder:validation:Enum=Foreground;Orphan;SelectivelyOrphan
type DeletePropagationPolicyType string

// The delete propagation policies.
const (
	DeletePropagationPolicyTypeForeground        DeletePropagationPolicyType = "Foreground"
	DeletePropagationPolicyTypeOrphan            DeletePropagationPolicyType = "Orphan"
	DeletePropagationPolicyTypeSelectivelyOrphan DeletePropagationPolicyType = "SelectivelyOrphan"
)

// DeleteOption is the deletion strategy of a ManifestWork's resources.
type DeleteOption struct {
	// propagationPolicy is Foreground, Orphan or SelectivelyOrphan.
	// +optional
	// +kubebuilder:default=Foreground
	PropagationPolicy DeletePropagationPolicyType `json:"propagationPolicy"`

	// selectivelyOrphans lists the resources to orphan under SelectivelyOrphan.
	// +optional
	SelectivelyOrphan *SelectivelyOrphan `json:"selectivelyOrphans,omitempty"`

	// ttlSecondsAfterFinished deletes the work this long after its condition rules marked it
	// Complete; the work is never deleted automatically when unset.
	// +optional
	TTLSecondsAfterFinished *int64 `json:"ttlSecondsAfterFinished,omitempty"`
}

// SelectivelyOrphan lists the resources to orphan.
type SelectivelyOrphan struct {
	// orphaningRules each identify one resource of the work to orphan.
	// +optional
	OrphaningRules []OrphaningRule `json:"orphaningRules,omitempty"`
}

// ResourceIdentifier identifies one resource of a ManifestWork.
type ResourceIdentifier struct {
	// group is the API group of the resource; empty for the core group.
	// +optional
	Group string `json:"group"`

	// resource is the plural resource name.
	// +required
	// +kubebuilder:validation:Required
	Resource string `json:"resource"`

	// name is the name of the resource.
	// +required
	// +kubebuilder:validation:Required
	Name string `json:"name"`

	// namespace is the namespace of the resource; empty for cluster-scoped resources.
	// +optional
	Namespace string `json:"namespace"`
}

// OrphaningRule identifies one resource of a ManifestWork to orphan.
type OrphaningRule ResourceIdentifier

// ManifestConfigOption configures one manifest of a workload.
type ManifestConfigOption struct {
	// resourceIdentifier selects the manifest.
	// +required
	// +kubebuilder:validation:Required
	ResourceIdentifier ResourceIdentifier `json:"resourceIdentifier"`

	// feedbackRules select status fields of the resource to report back.
	// +optional
	FeedbackRules []FeedbackRule `json:"feedbackRules,omitempty"`

	// updateStrategy is how the resource is updated; Update when unset.
	// +optional
	UpdateStrategy *UpdateStrategy `json:"updateStrategy,omitempty"`

	// conditionRules derive work conditions from the resource.
	// +optional
	// +listType=map
	// +listMapKey=condition
	ConditionRules []ConditionRule `json:"conditionRules,omitempty"`

	// feedbackScrapeType is how the agent watches the resource for feedback: Poll or Watch.
	// +optional
	// +kubebuilder:default=Poll
	// +kubebuilder:validation:Enum=Poll;Watch
	FeedbackScrapeType FeedbackScrapeType `json:"feedbackScrapeType,omitempty"`
}

// FeedbackScrapeType is how status feedback is collected.
type FeedbackScrapeType string

// The feedback scrape types.
const (
	FeedbackScrapeTypePoll  FeedbackScrapeType = "Poll"
	FeedbackScrapeTypeWatch FeedbackScrapeType = "Watch"
)

// ConditionRuleType is how a condition rule is evaluated.
// +kubebuilder:validation:Enum=WellKnownConditions;CEL
type ConditionRuleType string

// The condition rule types.
const (
	WellKnownConditionsType     ConditionRuleType = "WellKnownConditions"
	CelConditionExpressionsType ConditionRuleType = "CEL"
)

// ConditionRule sets a condition on the work from the state of one manifest.
// +kubebuilder:validation:XValidation:rule="self.type != 'CEL' || self.condition != \"\"",message="Condition is required for CEL rules"
type ConditionRule struct {
	// condition is the type of condition this rule sets; Complete stops further updates.
	// +required
	Condition string `json:"condition"`

	// type is CEL or WellKnownConditions.
	// +required
	// +kubebuilder:validation:Required
	Type ConditionRuleType `json:"type"`

	// celExpressions are ANDed to compute the condition when type is CEL.
	// +optional
	CelExpressions []string `json:"celExpressions,omitempty"`

	// message is the message of the condition.
	// +optional
	Message string `json:"message,omitempty"`

	// messageExpression is a CEL expression whose non-empty result overrides message.
	// +optional
	MessageExpression string `json:"messageExpression,omitempty"`
}

// FeedBackType is how status feedback is selected.
// +kubebuilder:validation:Enum=WellKnownStatus;JSONPaths
type FeedBackType string

// The feedback types.
const (
	WellKnownStatusType FeedBackType = "WellKnownStatus"
	JSONPathsType       FeedBackType = "JSONPaths"
)

// FeedbackRule selects status fields of a resource to report back to the hub.
type FeedbackRule struct {
	// type is WellKnownStatus or JSONPaths.
	// +required
	// +kubebuilder:validation:Required
	Type FeedBackType `json:"type"`

	// jsonPaths are the status fields to report when type is JSONPaths.
	// +optional
	// +listType=map
	// +listMapKey=name
	JsonPaths []JsonPath `json:"jsonPaths,omitempty"`
}

// JsonPath names one status field to report.
type JsonPath struct {
	// name is the name the value is reported under.
	// +required
	// +kubebuilder:validation:Required
	Name string `json:"name"`

	// version is the resource version to read; the preferred one when unset.
	// +optional
	Version string `json:"version,omitempty"`

	// path is a JSONPath below .status that points to a single value.
	// +required
	// +kubebuilder:validation:Required
	Path string `json:"path"`
}

// UpdateStrategyType is how a deployed resource is updated.
type UpdateStrategyType string

// The update strategy types.
const (
	UpdateStrategyTypeUpdate          UpdateStrategyType = "Update"
	UpdateStrategyTypeCreateOnly      UpdateStrategyType = "CreateOnly"
	UpdateStrategyTypeServerSideApply UpdateStrategyType = "ServerSideApply"
	UpdateStrategyTypeReadOnly        UpdateStrategyType = "ReadOnly"
)

// UpdateStrategy is how one manifest is updated on the managed cluster.
type UpdateStrategy struct {
	// type is Update, CreateOnly, ServerSideApply or ReadOnly.
	// +required
	// +kubebuilder:validation:Required
	// +kubebuilder:default=Update
	// +kubebuilder:validation:Enum=Update;CreateOnly;ServerSideApply;ReadOnly
	Type UpdateStrategyType `json:"type,omitempty"`

	// serverSideApply configures server-side apply when type is ServerSideApply.
	// +optional
	ServerSideApply *ServerSideApplyConfig `json:"serverSideApply,omitempty"`
}

// ServerSideApplyConfig configures server-side apply of one manifest.
type ServerSideApplyConfig struct {
	// force applies the manifest even when fields are owned by another manager.
	// +optional
	Force bool `json:"force"`

	// fieldManager is the field manager; it must start with work-agent.
	// +optional
	// +kubebuilder:default=work-agent
	// +kubebuilder:validation:Pattern=`^work-agent`
	FieldManager string `json:"fieldManager,omitempty"`

	// ignoreFields are fields of the resource the agent leaves alone.
	// +optional
	// +listType=map
	// +listMapKey=condition
	IgnoreFields []IgnoreField `json:"ignoreFields,omitempty"`
}

// IgnoreFieldsCondition is when fields are ignored.
type IgnoreFieldsCondition string

// The ignore-field conditions.
const (
	IgnoreFieldsConditionOnSpokePresent IgnoreFieldsCondition = "OnSpokePresent"
	IgnoreFieldsConditionOnSpokeChange  IgnoreFieldsCondition = "OnSpokeChange"
)

// IgnoreField lists fields of a resource that are not updated while a condition holds.
type IgnoreField struct {
	// condition is when the fields are ignored.
	// +required
	// +kubebuilder:validation:Required
	// +kubebuilder:default=OnSpokePresent
	// +kubebuilder:validation:Enum=OnSpokePresent;OnSpokeChange
	Condition IgnoreFieldsCondition `json:"condition"`

	// jsonPaths are Kubernetes JSONPath expressions of the fields.
	// +optional
	JSONPaths []string `json:"jsonPaths,omitempty"`

	// jsonPointers are RFC 6901 JSON pointers of the fields.
	// +optional
	JSONPointers []string `json:"jsonPointers,omitempty"`

	// jqPathExpressions are jq path expressions of the fields.
	// +optional
	JQPathExpressions []string `json:"jqPathExpressions,omitempty"`
}

// ManifestWorkExecutorSubjectType is the kind of identity an executor is.
type ManifestWorkExecutorSubjectType string

// ExecutorSubjectTypeServiceAccount is a service account on the managed cluster.
const ExecutorSubjectTypeServiceAccount ManifestWorkExecutorSubjectType = "ServiceAccount"

// ManifestWorkExecutor is the identity the work agent applies a workload as.
type ManifestWorkExecutor struct {
	// subject is the identity.
	// +optional
	Subject ManifestWorkExecutorSubject `json:"subject"`
}

// ManifestWorkExecutorSubject is an identity on the managed cluster.
type ManifestWorkExecutorSubject struct {
	// type is the kind of identity; only ServiceAccount is supported.
	// +required
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:Enum=ServiceAccount
	Type ManifestWorkExecutorSubjectType `json:"type"`

	// serviceAccount is the service account when type is ServiceAccount.
	// +optional
	ServiceAccount *ManifestWorkSubjectServiceAccount `json:"serviceAccount,omitempty"`
}

// ManifestWorkSubjectServiceAccount is a service account on the managed cluster.
type ManifestWorkSubjectServiceAccount struct {
	// namespace is the namespace of the service account.
	// +required
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$`
	Namespace string `json:"namespace"`

	// name is the name of the service account.
	// +required
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$`
	Name string `json:"name"`
}

// ManifestWorkStatus is what the work agent reports about a ManifestWork.
type ManifestWorkStatus struct {
	// conditions are the work's conditions: Applied, Available, Progressing, Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// resourceStatus is the status of each deployed resource.
	// +optional
	ResourceStatus ManifestResourceStatus `json:"resourceStatus,omitempty"`
}

// ManifestResourceStatus is the status of each resource of a ManifestWork.
type ManifestResourceStatus struct {
	// manifests hold one entry per deployed resource.
	// +optional
	Manifests []ManifestCondition `json:"manifests,omitempty"`
}

// ManifestCondition is the status of one deployed resource.
type ManifestCondition struct {
	// resourceMeta identifies the resource.
	// +required
	ResourceMeta ManifestResourceMeta `json:"resourceMeta"`

	// statusFeedback holds the status values selected by the feedback rules.
	// +optional
	StatusFeedbacks StatusFeedbackResult `json:"statusFeedback,omitempty"`

	// conditions are the resource's conditions on the managed cluster.
	// +required
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions"`
}

// ManifestResourceMeta identifies a deployed resource and its position in the workload.
type ManifestResourceMeta struct {
	// ordinal is the index of the manifest in spec.workload.manifests.
	// +required
	Ordinal int32 `json:"ordinal"`

	// group is the API group of the resource.
	// +optional
	Group string `json:"group"`

	// version is the API version of the resource.
	// +optional
	Version string `json:"version"`

	// kind is the kind of the resource.
	// +optional
	Kind string `json:"kind"`

	// resource is the plural resource name.
	// +optional
	Resource string `json:"resource"`

	// name is the name of the resource.
	// +optional
	Name string `json:"name"`

	// namespace is the namespace of the resource.
	// +optional
	Namespace string `json:"namespace"`
}

// StatusFeedbackResult holds the status values reported for one resource.
type StatusFeedbackResult struct {
	// values are the reported values.
	// +optional
	// +listType=map
	// +listMapKey=name
	Values []FeedbackValue `json:"values,omitempty"`
}

// FeedbackValue is one reported status value.
type FeedbackValue struct {
	// name is the name given to the value by its feedback rule.
	// +required
	// +kubebuilder:validation:Required
	Name string `json:"name"`

	// fieldValue is the value.
	// +required
	// +kubebuilder:validation:Required
	Value FieldValue `json:"fieldValue"`
}

// ValueType is the type of a reported status value.
// +kubebuilder:validation:Enum=Integer;String;Boolean;JsonRaw
type ValueType string

// The value types.
const (
	Integer ValueType = "Integer"
	String  ValueType = "String"
	Boolean ValueType = "Boolean"
	JsonRaw ValueType = "JsonRaw"
)

// FieldValue is a reported status value; the field named by type is set.
type FieldValue struct {
	// type is Integer, String, Boolean or JsonRaw.
	// +required
	// +kubebuilder:validation:Required
	Type ValueType `json:"type"`

	// integer is the value when type is Integer.
	// +optional
	Integer *int64 `json:"integer,omitempty"`

	// string is the value when type is String.
	// +optional
	String *string `json:"string,omitempty"`

	// boolean is the value when type is Boolean.
	// +optional
	Boolean *bool `json:"boolean,omitempty"`

	// jsonRaw is the JSON of a list or object when type is JsonRaw.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	JsonRaw *string `json:"jsonRaw,omitempty"`
}

// +kubebuilder:object:root=true

// ManifestWorkList is a list of ManifestWorks.
type ManifestWorkList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the manifest works.
	Items []ManifestWork `json:"items"`
}
