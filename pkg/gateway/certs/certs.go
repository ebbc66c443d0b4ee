package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

// Files names the PEM files of the serving certificate and the optional client CA bundle.
type Files struct {
	CertFile string
	KeyFile  string
	// ClientCAFile, if set, verifies client certificates (mTLS authentication).
	ClientCAFile string
}

// controllerRunner is what each dynamic content provider offers to run its file watcher.
type controllerRunner interface {
	RunOnce(ctx context.Context) error
	Run(ctx context.Context, workers int)
}

// ServingConfig loads the files, starts watching them until ctx ends, and returns a TLS config
// whose certificate and client CA follow the files.
func ServingConfig(ctx context.Context, files Files) (*tls.Config, error) {
	if files.CertFile == "" || files.KeyFile == "" {
		return nil, errors.New("certs: both a certificate and a key file are required")
	}
	serving, err := dynamiccertificates.NewDynamicServingContentFromFiles("grpc-serving", files.CertFile, files.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("certs: loading serving certificate: %w", err)
	}
	base := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}
	runners := []controllerRunner{serving}
	var clientCA dynamiccertificates.CAContentProvider
	if files.ClientCAFile != "" {
		ca, err := dynamiccertificates.NewDynamicCAContentFromFile("grpc-client-ca", files.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("certs: loading client CA: %w", err)
		}
		clientCA = ca
		runners = append(runners, ca)
		base.ClientAuth = tls.VerifyClientCertIfGiven
	}
	controller := dynamiccertificates.NewDynamicServingCertificateController(base, clientCA, serving, nil, nil)
	serving.AddListener(controller)
	if ca, ok := clientCA.(*dynamiccertificates.DynamicFileCAContent); ok {
		ca.AddListener(controller)
	}
	if err := controller.RunOnce(); err != nil {
		return nil, fmt.Errorf("certs: building TLS config: %w", err)
	}
	for _, r := range runners {
		go r.Run(ctx, 1)
	}
	go controller.Run(1, ctx.Done())
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		MaxVersion:         tls.VersionTLS13,
		GetConfigForClient: controller.GetConfigForClient,
	}, nil
}
