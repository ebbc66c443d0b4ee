package payload_test

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cloudevents-conductor/conductor/pkg/apis/internal/apitest"
	"github.com/cloudevents-conductor/conductor/pkg/apis/work/payload"
	workv1 "github.com/cloudevents-conductor/conductor/pkg/apis/work/v1"
)

func TestRecordedManifestBundlesRoundTrip(t *testing.T) {
	for _, name := range []string{
		"server-work-spec-create-request", "server-work-spec-update-request", "server-work-spec-resync-response",
	} {
		t.Run(name, func(t *testing.T) {
			apitest.AssertRoundTrip(t, apitest.WirePayload(t, name), &payload.ManifestBundle{})
		})
	}
}

func TestRecordedManifestBundleStatusesRoundTrip(t *testing.T) {
	for _, name := range []string{
		"agent-work-status-update-kube", "agent-work-status-update-maestro", "agent-work-status-update-deleted",
	} {
		t.Run(name, func(t *testing.T) {
			apitest.AssertRoundTrip(t, apitest.WirePayload(t, name), &payload.ManifestBundleStatus{})
		})
	}
}

// sdk-go spells spec.executor "executer" in ManifestBundle; agents ignore an "executor" key.
func TestExecutorTravelsAsExecuter(t *testing.T) {
	spec := workv1.ManifestWorkSpec{
		Workload: workv1.ManifestsTemplate{Manifests: []workv1.Manifest{
			{RawExtension: runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"default"}}`)}},
		}},
		DeleteOption: &workv1.DeleteOption{PropagationPolicy: workv1.DeletePropagationPolicyTypeOrphan},
		ManifestConfigs: []workv1.ManifestConfigOption{{
			ResourceIdentifier: workv1.ResourceIdentifier{Resource: "configmaps", Name: "a", Namespace: "default"},
			UpdateStrategy:     &workv1.UpdateStrategy{Type: workv1.UpdateStrategyTypeReadOnly},
		}},
		Executor: &workv1.ManifestWorkExecutor{Subject: workv1.ManifestWorkExecutorSubject{
			Type:           workv1.ExecutorSubjectTypeServiceAccount,
			ServiceAccount: &workv1.ManifestWorkSubjectServiceAccount{Namespace: "default", Name: "deployer"},
		}},
	}
	data, err := json.Marshal(payload.NewManifestBundle(&spec))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"executer":{"subject":{"type":"ServiceAccount"`) || strings.Contains(string(data), `"executor"`) {
		t.Fatalf("bundle JSON %s does not carry the executor under \"executer\"", data)
	}
	decoded := &payload.ManifestBundle{}
	if err := json.Unmarshal(data, decoded); err != nil {
		t.Fatal(err)
	}
	if got := decoded.WorkSpec(); !equality.Semantic.DeepEqual(got, spec) {
		t.Errorf("spec after the wire = %+v, want %+v", got, spec)
	}
}

func TestBundleStatusBecomesWorkStatus(t *testing.T) {
	status := &payload.ManifestBundleStatus{}
	if err := json.Unmarshal(apitest.WirePayload(t, "agent-work-status-update-kube"), status); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(status.WorkStatus())
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(apitest.WirePayload(t, "agent-work-status-update-kube"), &want); err != nil {
		t.Fatal(err)
	}
	expected, err := json.Marshal(map[string]any{
		"conditions":     want["conditions"],
		"resourceStatus": map[string]any{"manifests": want["resourceStatus"]},
	})
	if err != nil {
		t.Fatal(err)
	}
	apitest.AssertSameJSON(t, data, expected)
}

// Maestro adds the spec to a status it broadcasts to sources; it must survive decoding.
func TestStatusWithBundleRoundTrips(t *testing.T) {
	bundle := apitest.WirePayload(t, "server-work-spec-create-request")
	status := apitest.WirePayload(t, "agent-work-status-update-maestro")
	withBundle := `{"manifestBundle":` + string(bundle) + `,` + strings.TrimPrefix(string(status), "{")
	apitest.AssertRoundTrip(t, []byte(withBundle), &payload.ManifestBundleStatus{})
}
