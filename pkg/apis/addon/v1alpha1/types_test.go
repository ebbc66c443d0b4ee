package v1alpha1_test

import (
	"bytes"
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	addonv1alpha1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1alpha1"
	addonv1beta1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1beta1"
	"github.com/cloudevents-conductor/conductor/pkg/apis/internal/apitest"
)

// recordedAsV1alpha1 is a recorded v1beta1 addon read as v1alpha1, as the API server serves it
// under the None conversion: only apiVersion changes.
func recordedAsV1alpha1(t *testing.T, name string) []byte {
	t.Helper()
	data := apitest.WirePayload(t, name)
	return bytes.Replace(data, []byte(`"addon.open-cluster-management.io/v1beta1"`), []byte(`"addon.open-cluster-management.io/v1alpha1"`), 1)
}

// The only change is the empty deprecated status.addOnConfiguration, which v1alpha1 clients
// always write because it is not a pointer.
func TestRecordedAddOnsRoundTripAsV1alpha1(t *testing.T) {
	for _, name := range []string{"server-addon-spec-resync-response", "agent-addon-status-update-request"} {
		t.Run(name, func(t *testing.T) {
			data := recordedAsV1alpha1(t, name)
			addon := &addonv1alpha1.ManagedClusterAddOn{}
			if err := json.Unmarshal(data, addon); err != nil {
				t.Fatal(err)
			}
			encoded, err := json.Marshal(addon)
			if err != nil {
				t.Fatal(err)
			}
			apitest.AssertSameJSON(t, encoded, withEmptyAddOnConfiguration(t, data))
		})
	}
}

func withEmptyAddOnConfiguration(t *testing.T, data []byte) []byte {
	t.Helper()
	var object map[string]any
	if err := json.Unmarshal(data, &object); err != nil {
		t.Fatal(err)
	}
	object["status"].(map[string]any)["addOnConfiguration"] = map[string]any{}
	out, err := json.Marshal(object)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBothVersionsShareOneScheme(t *testing.T) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{addonv1alpha1.AddToScheme, addonv1beta1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	alpha, _, err := decoder.Decode(recordedAsV1alpha1(t, "agent-addon-status-update-request"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := alpha.(*addonv1alpha1.ManagedClusterAddOn); !ok {
		t.Errorf("v1alpha1 payload decoded as %T", alpha)
	}
	beta, _, err := decoder.Decode(apitest.WirePayload(t, "agent-addon-status-update-request"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := beta.(*addonv1beta1.ManagedClusterAddOn); !ok {
		t.Errorf("v1beta1 payload decoded as %T", beta)
	}
}

// The fields only v1alpha1 has (installNamespace, addOnConfiguration, kubeClientDriver, the
// signer-based registrations) keep their values through JSON.
func TestFullAddOnRoundTrip(t *testing.T) {
	addon := addonv1alpha1.ManagedClusterAddOn{
		TypeMeta:   metav1.TypeMeta{APIVersion: addonv1alpha1.SchemeGroupVersion.String(), Kind: addonv1alpha1.ManagedClusterAddOnKind},
		ObjectMeta: metav1.ObjectMeta{Name: "managed-serviceaccount", Namespace: "cluster1"},
		Spec:       addonv1alpha1.ManagedClusterAddOnSpec{InstallNamespace: "addons"},
		Status: addonv1alpha1.ManagedClusterAddOnStatus{
			AddOnConfiguration: addonv1alpha1.ConfigCoordinates{CRDName: "configs.example.com", CRName: "c", LastObservedGeneration: 3},
			ConfigReferences: []addonv1alpha1.ConfigReference{{
				ConfigGroupResource: addonv1alpha1.ConfigGroupResource{Resource: "addondeploymentconfigs"},
				ConfigReferent:      addonv1alpha1.ConfigReferent{Name: "config"},
				LastAppliedConfig:   &addonv1alpha1.ConfigSpecHash{ConfigReferent: addonv1alpha1.ConfigReferent{Name: "config"}, SpecHash: "h"},
			}},
			Registrations: []addonv1alpha1.RegistrationConfig{{
				SignerName: "kubernetes.io/kube-apiserver-client",
				Subject:    addonv1alpha1.Subject{User: "agent", Groups: []string{"g"}, OrganizationUnits: []string{"ou"}},
			}},
			KubeClientDriver: addonv1alpha1.KubeClientDriverCSR,
			HealthCheck:      addonv1alpha1.HealthCheck{Mode: addonv1alpha1.HealthCheckModeLease},
		},
	}
	data, err := json.Marshal(&addon)
	if err != nil {
		t.Fatal(err)
	}
	apitest.AssertRoundTrip(t, data, &addonv1alpha1.ManagedClusterAddOn{})
}
