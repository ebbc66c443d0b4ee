package v1_test

import (
	"encoding/json"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/utils/ptr"

	"github.com/cloudevents-conductor/conductor/pkg/apis/internal/apitest"
	workv1 "github.com/cloudevents-conductor/conductor/pkg/apis/work/v1"
)

// hubManifestWork is the ManifestWork the hub holds for the recorded payloads: its spec is what
// the hub sent the agent, its status what the agent reported back.
func hubManifestWork(t *testing.T) []byte {
	t.Helper()
	var bundle, status map[string]any
	if err := json.Unmarshal(apitest.WirePayload(t, "server-work-spec-create-request"), &bundle); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(apitest.WirePayload(t, "agent-work-status-update-kube"), &status); err != nil {
		t.Fatal(err)
	}
	work := map[string]any{
		"apiVersion": "work.open-cluster-management.io/v1",
		"kind":       "ManifestWork",
		"metadata": map[string]any{
			"name": "w2", "namespace": "cluster1", "uid": "c1f2e3d4-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
			"generation": 1, "resourceVersion": "1200", "creationTimestamp": "2026-01-02T03:04:05Z",
			"finalizers": []any{workv1.ManifestWorkFinalizer},
		},
		"spec": map[string]any{
			"workload":        map[string]any{"manifests": bundle["manifests"]},
			"deleteOption":    bundle["deleteOption"],
			"manifestConfigs": bundle["manifestConfigs"],
		},
		"status": map[string]any{
			"conditions":     status["conditions"],
			"resourceStatus": map[string]any{"manifests": status["resourceStatus"]},
		},
	}
	data, err := json.Marshal(work)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestHubManifestWorkRoundTrips(t *testing.T) {
	apitest.AssertRoundTrip(t, hubManifestWork(t), &workv1.ManifestWork{})
}

func TestSchemeDecodesManifestWork(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := workv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	obj, gvk, err := serializer.NewCodecFactory(scheme).UniversalDeserializer().Decode(hubManifestWork(t), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	work, ok := obj.(*workv1.ManifestWork)
	if !ok {
		t.Fatalf("decoded %T (%v), want *ManifestWork", obj, gvk)
	}
	if got := len(work.Spec.Workload.Manifests); got != 2 {
		t.Fatalf("got %d manifests, want 2", got)
	}
	var configMap struct {
		Kind string            `json:"kind"`
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal(work.Spec.Workload.Manifests[0].Raw, &configMap); err != nil {
		t.Fatal(err)
	}
	if configMap.Kind != "ConfigMap" || configMap.Data["key"] != "value" {
		t.Errorf("first manifest = %+v, want the demo ConfigMap", configMap)
	}
	if !apimeta.IsStatusConditionTrue(work.Status.Conditions, workv1.WorkApplied) {
		t.Errorf("conditions = %+v, want Applied=True", work.Status.Conditions)
	}
	feedback := work.Status.ResourceStatus.Manifests[1].StatusFeedbacks.Values
	if len(feedback) != 1 || feedback[0].Value.Type != workv1.Integer || ptr.Deref(feedback[0].Value.Integer, 0) != 1 {
		t.Errorf("status feedback = %+v, want readyReplicas=1", feedback)
	}
}

// Every optional part of a ManifestWork keeps its value through JSON.
func TestFullManifestWorkRoundTrip(t *testing.T) {
	now := metav1.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	work := workv1.ManifestWork{
		TypeMeta:   metav1.TypeMeta{APIVersion: workv1.SchemeGroupVersion.String(), Kind: workv1.ManifestWorkKind},
		ObjectMeta: metav1.ObjectMeta{Name: "w1", Namespace: "cluster1"},
		Spec: workv1.ManifestWorkSpec{
			Workload: workv1.ManifestsTemplate{Manifests: []workv1.Manifest{
				{RawExtension: runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"demo"}}`)}},
			}},
			DeleteOption: &workv1.DeleteOption{
				PropagationPolicy:       workv1.DeletePropagationPolicyTypeSelectivelyOrphan,
				SelectivelyOrphan:       &workv1.SelectivelyOrphan{OrphaningRules: []workv1.OrphaningRule{{Resource: "namespaces", Name: "demo"}}},
				TTLSecondsAfterFinished: ptr.To[int64](30),
			},
			ManifestConfigs: []workv1.ManifestConfigOption{{
				ResourceIdentifier: workv1.ResourceIdentifier{Resource: "namespaces", Name: "demo"},
				FeedbackRules:      []workv1.FeedbackRule{{Type: workv1.WellKnownStatusType}},
				UpdateStrategy: &workv1.UpdateStrategy{
					Type: workv1.UpdateStrategyTypeServerSideApply,
					ServerSideApply: &workv1.ServerSideApplyConfig{
						Force: true, FieldManager: "work-agent-x",
						IgnoreFields: []workv1.IgnoreField{{
							Condition: workv1.IgnoreFieldsConditionOnSpokeChange, JSONPaths: []string{".metadata.labels"},
							JSONPointers: []string{"/spec/replicas"}, JQPathExpressions: []string{".spec.x"},
						}},
					},
				},
				ConditionRules: []workv1.ConditionRule{{
					Condition: workv1.ManifestComplete, Type: workv1.CelConditionExpressionsType,
					CelExpressions: []string{"object.status.phase == 'Active'"}, Message: "done", MessageExpression: "'ok'",
				}},
				FeedbackScrapeType: workv1.FeedbackScrapeTypeWatch,
			}},
			Executor: &workv1.ManifestWorkExecutor{Subject: workv1.ManifestWorkExecutorSubject{
				Type:           workv1.ExecutorSubjectTypeServiceAccount,
				ServiceAccount: &workv1.ManifestWorkSubjectServiceAccount{Namespace: "default", Name: "deployer"},
			}},
		},
		Status: workv1.ManifestWorkStatus{
			Conditions: []metav1.Condition{{Type: workv1.WorkDegraded, Status: metav1.ConditionFalse, Reason: "Fine", LastTransitionTime: now}},
			ResourceStatus: workv1.ManifestResourceStatus{Manifests: []workv1.ManifestCondition{{
				ResourceMeta: workv1.ManifestResourceMeta{Version: "v1", Kind: "Namespace", Resource: "namespaces", Name: "demo"},
				StatusFeedbacks: workv1.StatusFeedbackResult{Values: []workv1.FeedbackValue{
					{Name: "phase", Value: workv1.FieldValue{Type: workv1.String, String: ptr.To("Active")}},
					{Name: "ready", Value: workv1.FieldValue{Type: workv1.Boolean, Boolean: ptr.To(true)}},
					{Name: "spec", Value: workv1.FieldValue{Type: workv1.JsonRaw, JsonRaw: ptr.To(`{"a":1}`)}},
				}},
				Conditions: []metav1.Condition{{Type: workv1.ManifestComplete, Status: metav1.ConditionTrue, Reason: "Done", LastTransitionTime: now}},
			}}},
		},
	}
	data, err := json.Marshal(&work)
	if err != nil {
		t.Fatal(err)
	}
	apitest.AssertRoundTrip(t, data, &workv1.ManifestWork{})

	copied := work.DeepCopy()
	copied.Spec.Workload.Manifests[0].Raw[0] = ' '
	if work.Spec.Workload.Manifests[0].Raw[0] != '{' {
		t.Error("DeepCopy shares manifest bytes")
	}
}
