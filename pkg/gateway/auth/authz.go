package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
)

// Defaults of SARAuthorizerOptions.
const (
	DefaultAllowTTL = 5 * time.Minute
	DefaultDenyTTL  = 30 * time.Second
)

// Attributes are the SubjectAccessReview resource attributes of one request (protocol.md 5.2).
type Attributes struct {
	User        Identity
	Verb        string
	Namespace   string
	Group       string
	Resource    string
	Subresource string
	Name        string
}

// String describes the request for logs and denial messages.
func (a Attributes) String() string {
	resource := a.Resource
	if a.Group != "" {
		resource += "." + a.Group
	}
	if a.Subresource != "" {
		resource += "/" + a.Subresource
	}
	s := fmt.Sprintf("user %q cannot %s %s in namespace %q", a.User.User, a.Verb, resource, a.Namespace)
	if a.Name != "" {
		s += fmt.Sprintf(" (name %q)", a.Name)
	}
	return s
}

// Authorizer decides whether a request is allowed. It returns nil when it is, an error wrapping
// ErrDenied when it is not, and one wrapping ErrUnavailable when it cannot tell.
type Authorizer interface {
	Authorize(ctx context.Context, attrs Attributes) error
}

// AllowAll allows every request. It is for development (--disable-auth) only.
type AllowAll struct{}

// Authorize implements Authorizer.
func (AllowAll) Authorize(context.Context, Attributes) error { return nil }

// SARAuthorizerOptions configures a SARAuthorizer.
type SARAuthorizerOptions struct {
	// Reviews creates SubjectAccessReviews (clientset.AuthorizationV1().SubjectAccessReviews()).
	Reviews authorizationclient.SubjectAccessReviewInterface
	// AllowTTL and DenyTTL are how long decisions are reused. Denials expire sooner so that a
	// RoleBinding created for a new cluster takes effect quickly.
	AllowTTL time.Duration
	DenyTTL  time.Duration
	// CacheSize bounds the number of cached decisions.
	CacheSize int
}

// SARAuthorizer authorizes with a Kubernetes SubjectAccessReview.
type SARAuthorizer struct {
	opts   SARAuthorizerOptions
	cache  *cache.LRUExpireCache
	flight singleflight.Group
}

// decision is one cached review outcome: nil error is allowed.
type decision struct{ err error }

// NewSARAuthorizer returns an authorizer using opts (zero fields take the defaults).
func NewSARAuthorizer(opts SARAuthorizerOptions) (*SARAuthorizer, error) {
	if opts.Reviews == nil {
		return nil, fmt.Errorf("auth: SAR authorizer needs a SubjectAccessReview client")
	}
	if opts.AllowTTL <= 0 {
		opts.AllowTTL = DefaultAllowTTL
	}
	if opts.DenyTTL <= 0 {
		opts.DenyTTL = DefaultDenyTTL
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	return &SARAuthorizer{opts: opts, cache: cache.NewLRUExpireCache(opts.CacheSize)}, nil
}

// Authorize implements Authorizer.
func (a *SARAuthorizer) Authorize(ctx context.Context, attrs Attributes) error {
	spec := sarSpec(attrs)
	keyBytes, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("auth: encoding review key: %w", err)
	}
	key := string(keyBytes)
	if cached, ok := a.cache.Get(key); ok {
		return cached.(decision).err
	}
	v, err, _ := a.flight.Do(key, func() (any, error) {
		reviewCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ReviewTimeout)
		defer cancel()
		d, err := a.review(reviewCtx, spec, attrs)
		if err != nil {
			return nil, err
		}
		ttl := a.opts.AllowTTL
		if d.err != nil {
			ttl = a.opts.DenyTTL
		}
		a.cache.Add(key, d, ttl)
		return d, nil
	})
	if err != nil {
		return err
	}
	return v.(decision).err
}

func (a *SARAuthorizer) review(ctx context.Context, spec authorizationv1.SubjectAccessReviewSpec, attrs Attributes) (decision, error) {
	resp, err := a.opts.Reviews.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("%w: subject access review: %w", ErrUnavailable, err)
	}
	if resp.Status.Allowed && !resp.Status.Denied {
		return decision{}, nil
	}
	msg := attrs.String()
	if resp.Status.Reason != "" {
		msg += ": " + resp.Status.Reason
	}
	return decision{err: fmt.Errorf("%w: %s", ErrDenied, msg)}, nil
}

func sarSpec(attrs Attributes) authorizationv1.SubjectAccessReviewSpec {
	return authorizationv1.SubjectAccessReviewSpec{
		User:   attrs.User.User,
		Groups: attrs.User.Groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace:   attrs.Namespace,
			Verb:        attrs.Verb,
			Group:       attrs.Group,
			Resource:    attrs.Resource,
			Subresource: attrs.Subresource,
			Name:        attrs.Name,
		},
	}
}
