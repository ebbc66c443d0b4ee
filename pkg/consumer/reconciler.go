package consumer

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	clusterv1 "github.com/cloudevents-conductor/conductor/pkg/apis/cluster/v1"
	"github.com/cloudevents-conductor/conductor/pkg/maestro"
)

const (
	// Finalizer keeps a ManagedCluster until its Maestro consumer is deleted.
	Finalizer = "cloudevents-conductor.io/maestro-consumer"

	// ConditionConsumerSynced on a ManagedCluster says whether its Maestro consumer is in
	// place (True) or why not (False).
	ConditionConsumerSynced = "MaestroConsumerSynced"
)

// Reasons of the ConditionConsumerSynced condition and of the controller's Events.
const (
	ReasonConsumerSynced  = "ConsumerSynced"
	ReasonConsumerCreated = "ConsumerCreated"
	ReasonLabelsUpdated   = "ConsumerLabelsUpdated"
	ReasonNameRejected    = "ConsumerNameRejected"
	ReasonDeletionBlocked = "ConsumerDeletionBlocked"
	ReasonConsumerDeleted = "ConsumerDeleted"
)

const (
	controllerName = "maestro-consumer"
	// Event actions (events.k8s.io/v1 wants one): what the controller did or tried.
	eventActionCreate      = "CreateConsumer"
	eventActionPatchLabels = "PatchConsumerLabels"
	eventActionDelete      = "DeleteConsumer"
)

// errDeletionBlocked makes the work queue retry, with backoff, a delete Maestro refused.
var errDeletionBlocked = errors.New("maestro refuses to delete the consumer while resources reference it")

// Maestro is the part of the Maestro REST client the reconciler uses.
type Maestro interface {
	FindByName(ctx context.Context, name string) (*maestro.Consumer, error)
	Create(ctx context.Context, name string, labels map[string]string) (*maestro.Consumer, error)
	PatchLabels(ctx context.Context, id string, labels map[string]string) (*maestro.Consumer, error)
	Delete(ctx context.Context, id string) error
}

// Reconciler keeps one ManagedCluster's Maestro consumer in line with the cluster. Every field
// is required; Setup builds one from a manager.
type Reconciler struct {
	Client   client.Client
	Maestro  Maestro
	Recorder events.EventRecorder
	Labels   LabelFilter
	Metrics  *Metrics
}

// Reconcile implements reconcile.Reconciler. A returned error puts the cluster back on the
// work queue with exponential backoff.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	cluster := &clusterv1.ManagedCluster{}
	result, err := ResultSkipped, r.Client.Get(ctx, req.NamespacedName, cluster)
	switch {
	case err != nil:
		err = client.IgnoreNotFound(err)
	case !cluster.DeletionTimestamp.IsZero():
		result, err = r.finalize(ctx, cluster)
	case eligible(cluster):
		result, err = r.sync(ctx, cluster)
	}
	if err != nil && result != ResultBlocked {
		result = ResultError
	}
	r.Metrics.reconciles.WithLabelValues(result).Inc()
	return ctrl.Result{}, err
}

// eligible says whether the cluster should have a consumer: accepted and joined.
func eligible(cluster *clusterv1.ManagedCluster) bool {
	return cluster.Spec.HubAcceptsClient &&
		meta.IsStatusConditionTrue(cluster.Status.Conditions, clusterv1.ManagedClusterConditionJoined)
}

func (r *Reconciler) sync(ctx context.Context, cluster *clusterv1.ManagedCluster) (string, error) {
	// The finalizer goes on first, so a consumer is never created that nothing would delete.
	if !controllerutil.ContainsFinalizer(cluster, Finalizer) {
		patch := client.MergeFromWithOptions(cluster.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(cluster, Finalizer)
		if err := r.Client.Patch(ctx, cluster, patch); err != nil {
			return "", fmt.Errorf("adding finalizer: %w", err)
		}
	}
	consumer, err := r.ensureConsumer(ctx, cluster)
	if maestro.IsInvalid(err) {
		return ResultRejected, r.reportRejected(ctx, cluster, err)
	}
	if err != nil {
		return "", err
	}
	if err := r.syncLabels(ctx, cluster, consumer); err != nil {
		return "", err
	}
	return ResultSynced, r.setCondition(ctx, cluster, metav1.ConditionTrue, ReasonConsumerSynced,
		fmt.Sprintf("Maestro consumer %s has the cluster's name and labels", consumer.ID))
}

// ensureConsumer finds the cluster's consumer, creating it if missing.
func (r *Reconciler) ensureConsumer(ctx context.Context, cluster *clusterv1.ManagedCluster) (*maestro.Consumer, error) {
	consumer, err := r.Maestro.FindByName(ctx, cluster.Name)
	if !maestro.IsNotFound(err) {
		return consumer, err
	}
	consumer, err = r.Maestro.Create(ctx, cluster.Name, r.Labels.Apply(cluster.Labels))
	if maestro.IsConflict(err) {
		// Created since we looked (another replica before a leader change, or by hand).
		return r.Maestro.FindByName(ctx, cluster.Name)
	}
	if err != nil {
		return nil, err
	}
	r.Metrics.created.Inc()
	log.FromContext(ctx).Info("created Maestro consumer", "consumer", consumer.ID)
	r.Recorder.Eventf(cluster, nil, corev1.EventTypeNormal, ReasonConsumerCreated, eventActionCreate,
		"Created Maestro consumer %s", consumer.ID)
	return consumer, nil
}

func (r *Reconciler) syncLabels(ctx context.Context, cluster *clusterv1.ManagedCluster, consumer *maestro.Consumer) error {
	want := r.Labels.Apply(cluster.Labels)
	if sameLabels(consumer.Labels, want) {
		return nil
	}
	if _, err := r.Maestro.PatchLabels(ctx, consumer.ID, want); err != nil {
		return err
	}
	r.Metrics.labelsPatched.Inc()
	r.Recorder.Eventf(cluster, nil, corev1.EventTypeNormal, ReasonLabelsUpdated, eventActionPatchLabels,
		"Updated the labels of Maestro consumer %s", consumer.ID)
	return nil
}

// reportRejected tells the user why the cluster has no consumer. Nothing is retried: the
// name will not become valid, and any change to the cluster brings another attempt.
func (r *Reconciler) reportRejected(ctx context.Context, cluster *clusterv1.ManagedCluster, cause error) error {
	reason := cause.Error()
	if e, ok := maestro.AsError(cause); ok {
		reason = e.Reason
	}
	log.FromContext(ctx).Info("Maestro rejected the consumer", "reason", reason)
	r.Recorder.Eventf(cluster, nil, corev1.EventTypeWarning, ReasonNameRejected, eventActionCreate,
		"Maestro refused to create a consumer named %s: %s", cluster.Name, reason)
	return r.setCondition(ctx, cluster, metav1.ConditionFalse, ReasonNameRejected,
		"Maestro refused the consumer: "+reason)
}

func (r *Reconciler) finalize(ctx context.Context, cluster *clusterv1.ManagedCluster) (string, error) {
	if !controllerutil.ContainsFinalizer(cluster, Finalizer) {
		return ResultSkipped, nil
	}
	consumer, err := r.Maestro.FindByName(ctx, cluster.Name)
	switch {
	case maestro.IsNotFound(err):
		// Already gone, or never made (name rejected): nothing to delete.
	case err != nil:
		return "", err
	default:
		if result, err := r.deleteConsumer(ctx, cluster, consumer); err != nil {
			return result, err
		}
	}
	patch := client.MergeFromWithOptions(cluster.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(cluster, Finalizer)
	if err := r.Client.Patch(ctx, cluster, patch); client.IgnoreNotFound(err) != nil {
		return "", fmt.Errorf("removing finalizer: %w", err)
	}
	return ResultDeleted, nil
}

func (r *Reconciler) deleteConsumer(ctx context.Context, cluster *clusterv1.ManagedCluster, consumer *maestro.Consumer) (string, error) {
	err := r.Maestro.Delete(ctx, consumer.ID)
	switch {
	case maestro.IsForbidden(err):
		reason := err.Error()
		if e, ok := maestro.AsError(err); ok {
			reason = e.Reason
		}
		r.Recorder.Eventf(cluster, nil, corev1.EventTypeWarning, ReasonDeletionBlocked, eventActionDelete,
			"Maestro refuses to delete consumer %s while resource bundles reference it; retrying: %s", consumer.ID, reason)
		if err := r.setCondition(ctx, cluster, metav1.ConditionFalse, ReasonDeletionBlocked,
			"Maestro refuses to delete the consumer while resource bundles reference it: "+reason); err != nil {
			return "", err
		}
		return ResultBlocked, fmt.Errorf("consumer %s: %w", consumer.ID, errDeletionBlocked)
	case err != nil && !maestro.IsNotFound(err):
		return "", err
	}
	r.Metrics.deleted.Inc()
	log.FromContext(ctx).Info("deleted Maestro consumer", "consumer", consumer.ID)
	r.Recorder.Eventf(cluster, nil, corev1.EventTypeNormal, ReasonConsumerDeleted, eventActionDelete,
		"Deleted Maestro consumer %s", consumer.ID)
	return ResultDeleted, nil
}

// setCondition writes the MaestroConsumerSynced condition when it changed. The optimistic lock
// keeps us from overwriting conditions the registration controller wrote meanwhile.
func (r *Reconciler) setCondition(ctx context.Context, cluster *clusterv1.ManagedCluster, status metav1.ConditionStatus, reason, message string) error {
	patch := client.MergeFromWithOptions(cluster.DeepCopy(), client.MergeFromWithOptimisticLock{})
	changed := meta.SetStatusCondition(&cluster.Status.Conditions, metav1.Condition{
		Type:               ConditionConsumerSynced,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: cluster.Generation,
	})
	if !changed {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, cluster, patch); err != nil {
		return fmt.Errorf("setting condition %s: %w", ConditionConsumerSynced, err)
	}
	return nil
}
