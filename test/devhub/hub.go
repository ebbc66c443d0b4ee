package devhub

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	"github.com/cloudevents-conductor/conductor/test/agent"
)

// Names of the objects the stand-in creates, as the OCM hub names them.
const (
	BootstrapNamespace      = "open-cluster-management"
	BootstrapServiceAccount = "agent-registration-bootstrap"
	agentClusterRole        = "open-cluster-management:conductor-dev:agent"
	bootstrapClusterRole    = "open-cluster-management:conductor-dev:bootstrap"
)

// Options configures the stand-in.
type Options struct {
	Config *rest.Config
	CA     *CA
	// AutoAccept sets spec.hubAcceptsClient on new clusters, as an admin running
	// `clusteradm accept` would.
	AutoAccept bool
	// CertValidity of the agents' client certificates; default 24 h.
	CertValidity time.Duration
	Logger       *slog.Logger
}

// Hub is the running stand-in.
type Hub struct {
	opts   Options
	client client.Client
	kube   kubernetes.Interface
	mgr    ctrl.Manager
}

// New builds the stand-in and creates the bootstrap identity and RBAC; Run starts its controllers.
func New(ctx context.Context, opts Options) (*Hub, error) {
	if opts.CertValidity == 0 {
		opts.CertValidity = 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := clusterv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(opts.Config, ctrl.Options{
		Scheme:  scheme,
		Logger:  logr.FromSlogHandler(opts.Logger.Handler()),
		Metrics: metricsserver.Options{BindAddress: "0"},
		// Several stand-ins may run in one test binary; their metrics are not served anyway.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("devhub manager: %w", err)
	}
	kube, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	h := &Hub{opts: opts, client: mgr.GetClient(), kube: kube, mgr: mgr}
	if err := h.ensureBootstrapRBAC(ctx); err != nil {
		return nil, err
	}
	err = ctrl.NewControllerManagedBy(mgr).Named("devhub-clusters").For(&clusterv1.ManagedCluster{}).
		Complete(reconcileFunc(h.reconcileCluster))
	if err != nil {
		return nil, err
	}
	isGRPCCSR := predicate.NewPredicateFuncs(func(o client.Object) bool {
		csr, ok := o.(*certificatesv1.CertificateSigningRequest)
		return ok && csr.Spec.SignerName == agent.GRPCSignerName
	})
	err = ctrl.NewControllerManagedBy(mgr).Named("devhub-csrs").
		For(&certificatesv1.CertificateSigningRequest{}, builder.WithPredicates(isGRPCCSR)).
		Complete(reconcileFunc(h.reconcileCSR))
	return h, err
}

// Run runs the controllers until ctx ends.
func (h *Hub) Run(ctx context.Context) error { return h.mgr.Start(ctx) }

// BootstrapToken returns a token of the bootstrap service account, as the klusterlet's
// bootstrap-hub-kubeconfig holds.
func (h *Hub) BootstrapToken(ctx context.Context, ttl time.Duration) (string, error) {
	seconds := int64(ttl.Seconds())
	tr, err := h.kube.CoreV1().ServiceAccounts(BootstrapNamespace).CreateToken(ctx, BootstrapServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("bootstrap token: %w", err)
	}
	return tr.Status.Token, nil
}

type reconcileFunc func(ctx context.Context, req ctrl.Request) (ctrl.Result, error)

func (f reconcileFunc) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return f(ctx, req)
}

// ensureBootstrapRBAC lets the bootstrap identity create its cluster and CSR, and defines the role
// each cluster's agent gets in its namespace (protocol.md §5.2 evaluates every SAR there).
func (h *Hub) ensureBootstrapRBAC(ctx context.Context) error {
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: BootstrapNamespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: BootstrapServiceAccount, Namespace: BootstrapNamespace}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: bootstrapClusterRole}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{clusterv1.GroupName}, Resources: []string{"managedclusters"}, Verbs: []string{"create", "get", "list", "watch"}},
			{APIGroups: []string{certificatesv1.GroupName}, Resources: []string{"certificatesigningrequests"}, Verbs: []string{"create", "get", "list", "watch"}},
		}},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: bootstrapClusterRole},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: bootstrapClusterRole},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: BootstrapServiceAccount, Namespace: BootstrapNamespace}},
		},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: agentClusterRole}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{clusterv1.GroupName}, Resources: []string{"managedclusters", "managedclusters/status"}, Verbs: []string{"create", "get", "list", "watch", "update"}},
			{APIGroups: []string{certificatesv1.GroupName}, Resources: []string{"certificatesigningrequests"}, Verbs: []string{"create", "get", "list", "watch"}},
			{APIGroups: []string{coordinationv1.GroupName}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "watch", "update"}},
			{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "update"}},
			{APIGroups: []string{"addon.open-cluster-management.io"}, Resources: []string{"managedclusteraddons", "managedclusteraddons/status"}, Verbs: []string{"get", "list", "watch", "update"}},
			{APIGroups: []string{"work.open-cluster-management.io"}, Resources: []string{"manifestworks", "manifestworks/status"}, Verbs: []string{"get", "list", "watch", "update"}},
			{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create", "subscribe"}},
		}},
	}
	for _, obj := range objs {
		if err := h.client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	return nil
}

// reconcileCluster accepts the cluster and gives it a namespace, RBAC and lease.
func (h *Hub) reconcileCluster(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	cluster := &clusterv1.ManagedCluster{}
	if err := h.client.Get(ctx, req.NamespacedName, cluster); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !cluster.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	if err := h.ensureClusterNamespace(ctx, cluster.Name); err != nil {
		return ctrl.Result{}, err
	}
	if !cluster.Spec.HubAcceptsClient && h.opts.AutoAccept {
		cluster.Spec.HubAcceptsClient = true
		if err := h.client.Update(ctx, cluster); err != nil {
			return ctrl.Result{}, err
		}
		h.opts.Logger.Info("accepted managed cluster", "cluster", cluster.Name)
	}
	if !cluster.Spec.HubAcceptsClient || meta.IsStatusConditionTrue(cluster.Status.Conditions, clusterv1.ManagedClusterConditionHubAccepted) {
		return ctrl.Result{}, nil
	}
	meta.SetStatusCondition(&cluster.Status.Conditions, metav1.Condition{
		Type: clusterv1.ManagedClusterConditionHubAccepted, Status: metav1.ConditionTrue,
		Reason: "HubClusterAdminAccepted", Message: "Accepted by hub cluster admin",
	})
	return ctrl.Result{}, h.client.Status().Update(ctx, cluster)
}

func (h *Hub) ensureClusterNamespace(ctx context.Context, cluster string) error {
	labels := map[string]string{clusterv1.ClusterNameLabelKey: cluster}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cluster, Labels: labels}},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: agentRoleBindingName(cluster), Namespace: cluster},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: agentClusterRole},
			Subjects:   []rbacv1.Subject{{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "system:open-cluster-management:" + cluster}},
		},
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: agent.LeaseName, Namespace: cluster, Labels: labels}},
	}
	for _, obj := range objs {
		if _, err := controllerutil.CreateOrUpdate(ctx, h.client, obj, func() error { return nil }); err != nil {
			return fmt.Errorf("cluster %s: ensuring %T %s: %w", cluster, obj, obj.GetName(), err)
		}
	}
	return nil
}

// reconcileCSR approves every gRPC CSR and signs it with the local CA.
func (h *Hub) reconcileCSR(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	csr, err := h.kube.CertificatesV1().CertificateSigningRequests().Get(ctx, req.Name, metav1.GetOptions{})
	if err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if len(csr.Status.Certificate) > 0 {
		return ctrl.Result{}, nil
	}
	// Sign only once the cluster's agent RBAC exists, as the OCM hub approves after acceptance:
	// an agent that reconnects with its certificate before that is denied, and the gateway
	// caches the denial.
	if ready, err := h.clusterRBACReady(ctx, csr.Labels[clusterv1.ClusterNameLabelKey]); err != nil || !ready {
		return ctrl.Result{RequeueAfter: 200 * time.Millisecond}, err
	}
	if !isApproved(csr) {
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
			Reason: "AutoApprovedByDevHub", Message: "approved by the conductor's development hub",
		})
		if csr, err = h.kube.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); err != nil {
			return ctrl.Result{}, err
		}
	}
	certPEM, err := h.opts.CA.SignCSR(csr.Spec.Request, h.opts.CertValidity)
	if err != nil {
		h.opts.Logger.Warn("cannot sign CSR", "csr", csr.Name, "err", err)
		return ctrl.Result{}, nil
	}
	csr.Status.Certificate = certPEM
	_, err = h.kube.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{})
	return ctrl.Result{}, err
}

func (h *Hub) clusterRBACReady(ctx context.Context, cluster string) (bool, error) {
	if cluster == "" {
		return false, nil
	}
	rb := &rbacv1.RoleBinding{}
	err := h.client.Get(ctx, client.ObjectKey{Namespace: cluster, Name: agentRoleBindingName(cluster)}, rb)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func agentRoleBindingName(cluster string) string {
	return "open-cluster-management:managedcluster:" + cluster
}

func isApproved(csr *certificatesv1.CertificateSigningRequest) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == certificatesv1.CertificateApproved && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
