package workservice

import (
	"fmt"

	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	addonv1alpha1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1alpha1"
	addonv1beta1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1beta1"
	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	workv1 "github.com/cloudevents-conductor/conductor/pkg/apis/work/v1"
)

// workUIDIndex indexes ManifestWorks by metadata.uid: agents name works by UID only.
const workUIDIndex = "metadata.uid"

type hubClients struct {
	cache  cache.Cache
	client client.Client
	kube   kubernetes.Interface
}

// NewScheme returns the scheme of every type the service reads or writes.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		clusterv1.AddToScheme,
		workv1.AddToScheme,
		addonv1alpha1.AddToScheme,
		addonv1beta1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("workservice: building scheme: %w", err)
		}
	}
	return scheme, nil
}

func newHubClients(cfg *rest.Config) (hubClients, error) {
	scheme, err := NewScheme()
	if err != nil {
		return hubClients{}, err
	}
	// Only CSRs and leases that belong to a managed cluster concern agents; the hub has many
	// others (kubelet CSRs, leader-election leases) that need not be cached.
	hasCluster, err := labels.NewRequirement(clusterv1.ClusterNameLabelKey, selection.Exists, nil)
	if err != nil {
		return hubClients{}, fmt.Errorf("workservice: cluster label selector: %w", err)
	}
	clusterLabelled := labels.NewSelector().Add(*hasCluster)
	c, err := cache.New(cfg, cache.Options{
		Scheme: scheme,
		ByObject: map[client.Object]cache.ByObject{
			&certificatesv1.CertificateSigningRequest{}: {Label: clusterLabelled},
			&coordinationv1.Lease{}:                     {Label: clusterLabelled},
		},
	})
	if err != nil {
		return hubClients{}, fmt.Errorf("workservice: informer cache: %w", err)
	}
	writer, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return hubClients{}, fmt.Errorf("workservice: kube client: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return hubClients{}, fmt.Errorf("workservice: kube clientset: %w", err)
	}
	return hubClients{cache: c, client: writer, kube: kube}, nil
}
