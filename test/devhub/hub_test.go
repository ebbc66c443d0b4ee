package devhub_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	"github.com/cloudevents-conductor/conductor/test/agent"
	"github.com/cloudevents-conductor/conductor/test/devhub"
	"github.com/cloudevents-conductor/conductor/test/testenv"
)

var kube testenv.SharedKube

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &kube)) }

func startHub(t *testing.T) (*testenv.KubeEnv, *devhub.CA, *devhub.Hub) {
	t.Helper()
	env := kube.Env(t)
	ca, err := devhub.NewCA("devhub-test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hub, err := devhub.New(ctx, devhub.Options{Config: env.Config, CA: ca, AutoAccept: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return env, ca, hub
}

func TestClusterIsAcceptedAndGetsNamespaceAndLease(t *testing.T) {
	env, _, _ := startHub(t)
	ctx := context.Background()
	c := env.Client
	if err := clusterv1.AddToScheme(env.Scheme); err != nil {
		t.Fatal(err)
	}
	cluster := &clusterv1.ManagedCluster{ObjectMeta: metav1.ObjectMeta{Name: "devhub-c1"}}
	if err := c.Create(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() (bool, error) {
		got := &clusterv1.ManagedCluster{}
		if err := c.Get(ctx, client.ObjectKey{Name: "devhub-c1"}, got); err != nil {
			return false, err
		}
		lease := &coordinationv1.Lease{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "devhub-c1", Name: agent.LeaseName}, lease); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return got.Spec.HubAcceptsClient && meta.IsStatusConditionTrue(got.Status.Conditions, clusterv1.ManagedClusterConditionHubAccepted) &&
			lease.Labels[clusterv1.ClusterNameLabelKey] == "devhub-c1", nil
	})
}

func TestGRPCCSRIsApprovedAndSignedByTheCA(t *testing.T) {
	env, ca, _ := startHub(t)
	ctx := context.Background()
	// The hub signs only for clusters it has set up (namespace and agent RBAC).
	if err := env.Client.Create(ctx, &clusterv1.ManagedCluster{ObjectMeta: metav1.ObjectMeta{Name: "c2"}}); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject := pkix.Name{CommonName: "system:open-cluster-management:c2:agent", Organization: []string{"system:open-cluster-management:c2"}}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "c2-abcde", Labels: map[string]string{clusterv1.ClusterNameLabelKey: "c2"}},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: agent.GRPCSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth},
		},
	}
	if err := env.Client.Create(ctx, csr); err != nil {
		t.Fatal(err)
	}
	var certPEM []byte
	testenv.Eventually(t, 30*time.Second, func() (bool, error) {
		got := &certificatesv1.CertificateSigningRequest{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: csr.Name}, got); err != nil {
			return false, err
		}
		certPEM = got.Status.Certificate
		return len(certPEM) > 0, nil
	})
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("certificate does not verify against the CA: %v", err)
	}
	if cert.Subject.CommonName != subject.CommonName || len(cert.Subject.Organization) != 1 {
		t.Errorf("subject %v, want %v", cert.Subject, subject)
	}
}
