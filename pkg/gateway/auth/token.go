package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/metadata"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
)

// Defaults of TokenAuthenticatorOptions.
const (
	DefaultTokenSuccessTTL = 2 * time.Minute
	DefaultTokenFailureTTL = 10 * time.Second
	DefaultCacheSize       = 4096
	// ReviewTimeout bounds one TokenReview or SubjectAccessReview call.
	ReviewTimeout = 10 * time.Second
)

// TokenAuthenticatorOptions configures a TokenAuthenticator.
type TokenAuthenticatorOptions struct {
	// Reviews creates TokenReviews (clientset.AuthenticationV1().TokenReviews()). Required.
	Reviews authenticationclient.TokenReviewInterface
	// Audiences, if set, are the audiences the token must be valid for.
	Audiences []string
	// SuccessTTL is how long an accepted token is trusted without asking again.
	SuccessTTL time.Duration
	// FailureTTL is how long a rejected token stays rejected, so a misconfigured agent retrying in
	// a loop does not turn every attempt into an API call.
	FailureTTL time.Duration
	// CacheSize bounds the number of cached tokens.
	CacheSize int
}

// TokenAuthenticator authenticates "authorization: Bearer <token>" metadata with a Kubernetes
// TokenReview. Results are cached by the SHA-256 of the token; the token itself is never kept.
type TokenAuthenticator struct {
	opts   TokenAuthenticatorOptions
	cache  *cache.LRUExpireCache
	flight singleflight.Group
}

// tokenResult is one cached review outcome: an identity or the rejection.
type tokenResult struct {
	id  Identity
	err error
}

// NewTokenAuthenticator returns an authenticator using opts (zero fields take the defaults).
func NewTokenAuthenticator(opts TokenAuthenticatorOptions) (*TokenAuthenticator, error) {
	if opts.Reviews == nil {
		return nil, fmt.Errorf("auth: token authenticator needs a TokenReview client")
	}
	if opts.SuccessTTL <= 0 {
		opts.SuccessTTL = DefaultTokenSuccessTTL
	}
	if opts.FailureTTL <= 0 {
		opts.FailureTTL = DefaultTokenFailureTTL
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	return &TokenAuthenticator{opts: opts, cache: cache.NewLRUExpireCache(opts.CacheSize)}, nil
}

// Authenticate implements Authenticator.
func (a *TokenAuthenticator) Authenticate(ctx context.Context) (Identity, error) {
	token, err := bearerToken(ctx)
	if err != nil {
		return Identity{}, err
	}
	key := tokenKey(token)
	if cached, ok := a.cache.Get(key); ok {
		r := cached.(tokenResult)
		return r.id, r.err
	}
	// Concurrent streams of one agent usually arrive together with the same token.
	v, err, _ := a.flight.Do(key, func() (any, error) {
		// Shared by every waiting caller, so not bound to the first caller's cancellation.
		reviewCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ReviewTimeout)
		defer cancel()
		r, err := a.review(reviewCtx, token)
		if err != nil {
			return nil, err // not cached: the API was unreachable, not the token wrong
		}
		ttl := a.opts.SuccessTTL
		if r.err != nil {
			ttl = a.opts.FailureTTL
		}
		a.cache.Add(key, r, ttl)
		return r, nil
	})
	if err != nil {
		return Identity{}, err
	}
	r := v.(tokenResult)
	return r.id, r.err
}

// review asks the kube-apiserver. The returned error is a transport failure; a rejected token is
// a tokenResult carrying ErrUnauthenticated.
func (a *TokenAuthenticator) review(ctx context.Context, token string) (tokenResult, error) {
	tr := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: a.opts.Audiences}}
	resp, err := a.opts.Reviews.Create(ctx, tr, metav1.CreateOptions{})
	if err != nil {
		return tokenResult{}, fmt.Errorf("%w: token review: %w", ErrUnavailable, err)
	}
	if !resp.Status.Authenticated {
		reason := resp.Status.Error
		if reason == "" {
			reason = "token not authenticated"
		}
		return tokenResult{err: fmt.Errorf("%w: %s", ErrUnauthenticated, reason)}, nil
	}
	user := resp.Status.User
	return tokenResult{id: Identity{User: user.Username, Groups: user.Groups}}, nil
}

// bearerToken reads the token from the authorization metadata.
func bearerToken(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 0 {
		return "", fmt.Errorf("%w: invalid token: no authorization metadata", ErrUnauthenticated)
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", fmt.Errorf("%w: invalid token: authorization metadata is not \"Bearer <token>\"", ErrUnauthenticated)
	}
	return token, nil
}

func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
