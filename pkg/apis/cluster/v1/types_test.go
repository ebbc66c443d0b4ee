package v1_test

import (
	"encoding/json"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	"github.com/cloudevents-conductor/conductor/pkg/apis/internal/apitest"
)

// Payloads the real registration agent sent, and the hub pushed, for ManagedClusters.
var recordedClusters = []string{
	"agent-cluster-spec-create-request",
	"server-cluster-spec-update-request",
	"agent-cluster-status-update-request",
	"error-conflict-request",
}

func TestRecordedManagedClustersRoundTrip(t *testing.T) {
	for _, name := range recordedClusters {
		t.Run(name, func(t *testing.T) {
			apitest.AssertRoundTrip(t, apitest.WirePayload(t, name), &clusterv1.ManagedCluster{})
		})
	}
}

func TestSchemeDecodesRecordedManagedCluster(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clusterv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	data := apitest.WirePayload(t, "agent-cluster-status-update-request")
	obj, gvk, err := serializer.NewCodecFactory(scheme).UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cluster, ok := obj.(*clusterv1.ManagedCluster)
	if !ok {
		t.Fatalf("decoded %T (%v), want *ManagedCluster", obj, gvk)
	}
	if !cluster.Spec.HubAcceptsClient || cluster.Status.Version.Kubernetes != "v1.31.4" {
		t.Errorf("spec/status not decoded: %+v", cluster)
	}
	joined := apimeta.FindStatusCondition(cluster.Status.Conditions, clusterv1.ManagedClusterConditionJoined)
	available := apimeta.FindStatusCondition(cluster.Status.Conditions, clusterv1.ManagedClusterConditionAvailable)
	if joined == nil || available == nil || available.Status != metav1.ConditionTrue {
		t.Errorf("conditions = %+v, want Joined and Available=True", cluster.Status.Conditions)
	}
}

// A fully populated cluster keeps every field through JSON, including quantities and claims.
func TestFullManagedClusterRoundTrip(t *testing.T) {
	cluster := clusterv1.ManagedCluster{
		TypeMeta:   metav1.TypeMeta{APIVersion: clusterv1.SchemeGroupVersion.String(), Kind: clusterv1.ManagedClusterKind},
		ObjectMeta: metav1.ObjectMeta{Name: "cluster1", Labels: map[string]string{clusterv1.ClusterNameLabelKey: "cluster1"}},
		Spec: clusterv1.ManagedClusterSpec{
			HubAcceptsClient:            true,
			LeaseDurationSeconds:        60,
			ManagedClusterClientConfigs: []clusterv1.ClientConfig{{URL: "https://api.cluster1:6443", CABundle: []byte("ca")}},
			Taints: []clusterv1.Taint{{
				Key: clusterv1.ManagedClusterTaintUnreachable, Effect: clusterv1.TaintEffectNoSelect,
				TimeAdded: metav1.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			}},
		},
		Status: clusterv1.ManagedClusterStatus{
			Conditions:    []metav1.Condition{{Type: clusterv1.ManagedClusterConditionHubAccepted, Status: metav1.ConditionTrue, Reason: "HubClusterAdminAccepted", LastTransitionTime: metav1.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
			Capacity:      clusterv1.ResourceList{clusterv1.ResourceCPU: resource.MustParse("8"), clusterv1.ResourceMemory: resource.MustParse("32Gi")},
			Allocatable:   clusterv1.ResourceList{clusterv1.ResourceCPU: resource.MustParse("7500m")},
			Version:       clusterv1.ManagedClusterVersion{Kubernetes: "v1.31.4"},
			ClusterClaims: []clusterv1.ManagedClusterClaim{{Name: "id.k8s.io", Value: "c1"}},
			ManagedNamespaces: []clusterv1.ClusterSetManagedNamespaceConfig{{
				ManagedNamespaceConfig: clusterv1.ManagedNamespaceConfig{Name: "apps"}, ClusterSet: "default",
			}},
		},
	}
	data, err := json.Marshal(&cluster)
	if err != nil {
		t.Fatal(err)
	}
	apitest.AssertRoundTrip(t, data, &clusterv1.ManagedCluster{})

	copied := cluster.DeepCopy()
	copied.Status.Capacity[clusterv1.ResourceCPU] = resource.MustParse("1")
	copied.Spec.ManagedClusterClientConfigs[0].CABundle[0] = 'x'
	if got := cluster.Status.Capacity[clusterv1.ResourceCPU]; got.String() != "8" {
		t.Errorf("DeepCopy shares capacity: original cpu = %s", got.String())
	}
	if string(cluster.Spec.ManagedClusterClientConfigs[0].CABundle) != "ca" {
		t.Error("DeepCopy shares caBundle bytes")
	}
}
