package testenv_test

import (
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	workv1 "github.com/cloudevents-conductor/conductor/pkg/apis/work/v1"
)

func TestKubeServesManagedClusters(t *testing.T) {
	ctx := t.Context()
	env := kube.Env(t)

	created := &clusterv1.ManagedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke-cluster1"},
		Spec:       clusterv1.ManagedClusterSpec{HubAcceptsClient: true},
	}
	if err := env.Client.Create(ctx, created); err != nil {
		t.Fatalf("creating ManagedCluster: %v", err)
	}
	got := &clusterv1.ManagedCluster{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "smoke-cluster1"}, got); err != nil {
		t.Fatalf("reading ManagedCluster: %v", err)
	}
	if !got.Spec.HubAcceptsClient {
		t.Errorf("spec.hubAcceptsClient = false after the round trip")
	}

	// The status subresource exists, as the registration flow needs.
	got.Status.Version.Kubernetes = "v1.37.2"
	if err := env.Client.Status().Update(ctx, got); err != nil {
		t.Fatalf("updating ManagedCluster status: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "smoke-cluster1"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Version.Kubernetes != "v1.37.2" {
		t.Errorf("status.version.kubernetes = %q after the status update", got.Status.Version.Kubernetes)
	}
}

func TestKubeConfigForActsAsAnUnprivilegedUser(t *testing.T) {
	env := kube.Env(t)
	agent := env.ClientFor(t, "system:open-cluster-management:cluster1:agent",
		"system:open-cluster-management:cluster1")

	err := agent.List(t.Context(), &workv1.ManifestWorkList{}, client.InNamespace("cluster1"))
	if !apierrors.IsForbidden(err) {
		t.Fatalf("agent listing ManifestWorks: err = %v, want Forbidden (RBAC must be on)", err)
	}
}
