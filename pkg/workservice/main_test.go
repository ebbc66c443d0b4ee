package workservice_test

import (
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	addonv1alpha1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1alpha1"
	addonv1beta1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1beta1"
	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	workv1 "github.com/cloudevents-conductor/conductor/pkg/apis/work/v1"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

// kube is the kube-apiserver (with the OCM CRDs) all tests of the package share; each test uses
// cluster names of its own.
var kube = testenv.SharedKube{Options: testenv.KubeOptions{AddToScheme: schemeAdders()}}

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &kube)) }

func schemeAdders() []func(*runtime.Scheme) error {
	return []func(*runtime.Scheme) error{
		clusterv1.AddToScheme, workv1.AddToScheme, addonv1alpha1.AddToScheme, addonv1beta1.AddToScheme,
	}
}
