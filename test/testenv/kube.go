package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	addonv1alpha1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1alpha1"
	addonv1beta1 "github.com/cloudevents-conductor/conductor/pkg/apis/addon/v1beta1"
	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	apicrds "github.com/cloudevents-conductor/conductor/pkg/apis/crds"
	workv1 "github.com/cloudevents-conductor/conductor/pkg/apis/work/v1"
)

const (
	modulePath = "github.com/cloudevents-conductor/conductor"
	// envtest's default of 20 s is too short on two cores shared with compilers.
	defaultControlPlaneStartTimeout = 60 * time.Second
	// Tests create objects in bursts; client-go's default 5 QPS would throttle them.
	kubeClientQPS   = 1000
	kubeClientBurst = 2000
)

// KubeOptions configures a control plane.
type KubeOptions struct {
	// CRDs to install; nil means the OCM CRDs the conductor serves (package crds).
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// AddToScheme registers further API types in the clients' scheme, which
	// always has client-go's, CRDs' and our OCM API types.
	AddToScheme []func(*runtime.Scheme) error
}

// KubeEnv is a real kube-apiserver and etcd (envtest) with the OCM CRDs
// installed. Authentication is by client certificate and RBAC is enforced.
type KubeEnv struct {
	// Config authenticates as an administrator (group system:masters).
	Config *rest.Config
	// Client is a controller-runtime client using Config and Scheme.
	Client client.Client
	// Scheme knows client-go's types, CRDs, our OCM API types and
	// KubeOptions.AddToScheme's.
	Scheme *runtime.Scheme

	env    *envtest.Environment
	userMu sync.Mutex // envtest's user provisioning is not documented as concurrency-safe
}

// Kube starts a control plane with the OCM CRDs and stops it when the test
// ends. It costs about 4 s and 300 MB; prefer a SharedKube per package.
func Kube(tb testing.TB) *KubeEnv {
	tb.Helper()
	return StartKube(tb, KubeOptions{})
}

// StartKube is Kube with options.
func StartKube(tb testing.TB, opts KubeOptions) *KubeEnv {
	tb.Helper()
	k, err := NewKubeEnv(opts)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() {
		if err := k.Close(); err != nil {
			tb.Errorf("testenv: stopping the control plane: %v", err)
		}
	})
	return k
}

// NewKubeEnv is StartKube for callers without a testing.TB, such as TestMain.
// The caller must Close it.
func NewKubeEnv(opts KubeOptions) (*KubeEnv, error) {
	assets, err := kubeAssetsDir()
	if err != nil {
		return nil, err
	}
	scheme, err := newKubeScheme(opts.AddToScheme)
	if err != nil {
		return nil, err
	}
	crds := opts.CRDs
	if crds == nil {
		if crds, err = apicrds.CRDs(); err != nil {
			return nil, fmt.Errorf("loading our CRDs: %w", err)
		}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDs:                  crds,
		Scheme:                scheme,
	}
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		env.ControlPlaneStartTimeout = defaultControlPlaneStartTimeout
	}
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", assets, err)
	}
	cfg.QPS, cfg.Burst = kubeClientQPS, kubeClientBurst
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("creating a client: %w", err)
	}
	return &KubeEnv{Config: cfg, Client: c, Scheme: scheme, env: env}, nil
}

// ConfigFor returns a rest.Config that authenticates as the given user and
// groups (by client certificate), e.g. to act as a managed cluster's agent.
func (k *KubeEnv) ConfigFor(tb testing.TB, user string, groups ...string) *rest.Config {
	tb.Helper()
	k.userMu.Lock()
	defer k.userMu.Unlock()
	u, err := k.env.AddUser(envtest.User{Name: user, Groups: groups},
		&rest.Config{QPS: kubeClientQPS, Burst: kubeClientBurst})
	if err != nil {
		tb.Fatalf("testenv: provisioning kube user %q: %v", user, err)
	}
	return u.Config()
}

// ClientFor returns a client acting as the given user and groups.
func (k *KubeEnv) ClientFor(tb testing.TB, user string, groups ...string) client.Client {
	tb.Helper()
	c, err := client.New(k.ConfigFor(tb, user, groups...), client.Options{Scheme: k.Scheme})
	if err != nil {
		tb.Fatalf("testenv: creating a client for %q: %v", user, err)
	}
	return c
}

// Close stops kube-apiserver and etcd and removes their files.
func (k *KubeEnv) Close() error {
	return k.env.Stop()
}

func newKubeScheme(extra []func(*runtime.Scheme) error) (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	adders := append([]func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme,
		clusterv1.AddToScheme, workv1.AddToScheme, addonv1alpha1.AddToScheme, addonv1beta1.AddToScheme,
	}, extra...)
	for _, add := range adders {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("building the kube client scheme: %w", err)
		}
	}
	return scheme, nil
}

// kubeAssetsDir finds kube-apiserver and etcd: $KUBEBUILDER_ASSETS, else
// <module root>/bin/k8s. Missing binaries are an error, never a skip: CI must
// not go green by not testing.
func kubeAssetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", fmt.Errorf("locating kube-apiserver and etcd: %w; set KUBEBUILDER_ASSETS", err)
		}
		dir = filepath.Join(root, "bin", "k8s")
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("%s not found in %s (run `make test-tools` to build it, "+
				"or point KUBEBUILDER_ASSETS at a directory holding kube-apiserver and etcd): %w", bin, dir, err)
		}
	}
	return dir, nil
}

// moduleRoot walks up from the working directory (a package directory under
// go test) to the go.mod of this module, skipping nested tool modules.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isModuleRoot(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of module " + modulePath + " above the working directory")
		}
		dir = parent
	}
}

func isModuleRoot(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if name, ok := strings.CutPrefix(strings.TrimSpace(scanner.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(name), `"`) == modulePath
		}
	}
	return false
}
