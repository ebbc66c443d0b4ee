package auth

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	// ErrUnauthenticated means the caller presented no credentials an authenticator accepts.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrUnavailable means the kube-apiserver could not be asked; the caller should retry.
	ErrUnavailable = errors.New("authentication or authorization backend unavailable")
	// ErrDenied means the caller is not allowed to do what it asked.
	ErrDenied = errors.New("access denied")
)

// Authenticator establishes who sent the request in ctx (gRPC metadata and peer).
type Authenticator interface {
	Authenticate(ctx context.Context) (Identity, error)
}

// Chain tries each authenticator in order; the first success wins. When all fail it returns
// ErrUnavailable if any authenticator could not reach its backend (a retry may succeed), else the
// last error.
type Chain []Authenticator

// Authenticate implements Authenticator.
func (c Chain) Authenticate(ctx context.Context) (Identity, error) {
	err := fmt.Errorf("%w: no authenticator configured", ErrUnauthenticated)
	var unavailable error
	for _, a := range c {
		id, aerr := a.Authenticate(ctx)
		if aerr == nil {
			return id, nil
		}
		err = aerr
		if errors.Is(aerr, ErrUnavailable) {
			unavailable = aerr
		}
	}
	if unavailable != nil {
		return Identity{}, unavailable
	}
	return Identity{}, err
}

// StatusError converts an error of this package to the gRPC status the agent should see.
func StatusError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, ErrDenied):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	default:
		return status.Error(codes.Unauthenticated, err.Error())
	}
}

// UnaryServerInterceptor authenticates every unary call and stores the identity in its context.
func UnaryServerInterceptor(a Authenticator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		id, err := a.Authenticate(ctx)
		if err != nil {
			return nil, StatusError(err)
		}
		return handler(WithIdentity(ctx, id), req)
	}
}

// StreamServerInterceptor authenticates every stream and stores the identity in its context.
func StreamServerInterceptor(a Authenticator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		id, err := a.Authenticate(ss.Context())
		if err != nil {
			return StatusError(err)
		}
		return handler(srv, &identityStream{ServerStream: ss, ctx: WithIdentity(ss.Context(), id)})
	}
}

// identityStream overrides the context of a server stream.
type identityStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *identityStream) Context() context.Context { return s.ctx }
