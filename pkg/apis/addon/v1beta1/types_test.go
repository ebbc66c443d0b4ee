package v1beta1_test

import (
	"encoding/json"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	addonv1beta1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1beta1"
	"github.com/cloudevents-conductor/conductor/pkg/apis/internal/apitest"
)

func TestRecordedAddOnsRoundTrip(t *testing.T) {
	for _, name := range []string{"server-addon-spec-resync-response", "agent-addon-status-update-request"} {
		t.Run(name, func(t *testing.T) {
			apitest.AssertRoundTrip(t, apitest.WirePayload(t, name), &addonv1beta1.ManagedClusterAddOn{})
		})
	}
}

func TestSchemeDecodesRecordedAddOnStatus(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := addonv1beta1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	data := apitest.WirePayload(t, "agent-addon-status-update-request")
	obj, gvk, err := serializer.NewCodecFactory(scheme).UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	addon, ok := obj.(*addonv1beta1.ManagedClusterAddOn)
	if !ok {
		t.Fatalf("decoded %T (%v), want *ManagedClusterAddOn", obj, gvk)
	}
	if addon.Namespace != "cluster1" || addon.Status.Namespace != "open-cluster-management-agent-addon" {
		t.Errorf("namespaces = %q/%q", addon.Namespace, addon.Status.Namespace)
	}
	if !apimeta.IsStatusConditionTrue(addon.Status.Conditions, addonv1beta1.ManagedClusterAddOnConditionAvailable) {
		t.Errorf("conditions = %+v, want Available=True", addon.Status.Conditions)
	}
}

// Registrations of both kinds and configuration references keep every field through JSON.
func TestFullAddOnRoundTrip(t *testing.T) {
	now := metav1.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	addon := addonv1beta1.ManagedClusterAddOn{
		TypeMeta:   metav1.TypeMeta{APIVersion: addonv1beta1.SchemeGroupVersion.String(), Kind: addonv1beta1.ManagedClusterAddOnKind},
		ObjectMeta: metav1.ObjectMeta{Name: "managed-serviceaccount", Namespace: "cluster1"},
		Spec: addonv1beta1.ManagedClusterAddOnSpec{Configs: []addonv1beta1.AddOnConfig{{
			ConfigGroupResource: addonv1beta1.ConfigGroupResource{Group: "addon.open-cluster-management.io", Resource: "addondeploymentconfigs"},
			ConfigReferent:      addonv1beta1.ConfigReferent{Namespace: "cluster1", Name: "config"},
		}}},
		Status: addonv1beta1.ManagedClusterAddOnStatus{
			Conditions:       []metav1.Condition{{Type: addonv1beta1.ManagedClusterAddOnConditionAvailable, Status: metav1.ConditionTrue, Reason: "Up", LastTransitionTime: now}},
			RelatedObjects:   []addonv1beta1.ObjectReference{{Group: "addon.open-cluster-management.io", Resource: "clustermanagementaddons", Name: "managed-serviceaccount"}},
			AddOnMeta:        addonv1beta1.AddOnMeta{DisplayName: "Managed SA", Description: "tokens"},
			SupportedConfigs: []addonv1beta1.ConfigGroupResource{{Group: "addon.open-cluster-management.io", Resource: "addondeploymentconfigs"}},
			ConfigReferences: []addonv1beta1.ConfigReference{{
				ConfigGroupResource:    addonv1beta1.ConfigGroupResource{Resource: "addondeploymentconfigs"},
				LastObservedGeneration: 2,
				DesiredConfig:          &addonv1beta1.ConfigSpecHash{ConfigReferent: addonv1beta1.ConfigReferent{Name: "config"}, SpecHash: "abc"},
			}},
			Namespace: "open-cluster-management-agent-addon",
			Registrations: []addonv1beta1.RegistrationConfig{
				{Type: addonv1beta1.RegistrationTypeKubeClient, KubeClient: &addonv1beta1.KubeClientConfig{
					Driver:  addonv1beta1.KubeClientDriverToken,
					Subject: addonv1beta1.KubeClientSubject{BaseSubject: addonv1beta1.BaseSubject{User: "agent", Groups: []string{"g"}}},
				}},
				{Type: addonv1beta1.RegistrationTypeCustomSigner, CustomSigner: &addonv1beta1.CustomSignerConfig{
					SignerName: "example.com/signer",
					Subject:    addonv1beta1.Subject{BaseSubject: addonv1beta1.BaseSubject{User: "agent"}, OrganizationUnits: []string{"ou"}},
				}},
			},
			HealthCheck: addonv1beta1.HealthCheck{Mode: addonv1beta1.HealthCheckModeCustomized},
		},
	}
	data, err := json.Marshal(&addon)
	if err != nil {
		t.Fatal(err)
	}
	apitest.AssertRoundTrip(t, data, &addonv1beta1.ManagedClusterAddOn{})
}
