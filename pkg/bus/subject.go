package bus

import (
	"fmt"
	"strings"
)

// Root is the first token of every conductor subject.
const Root = "conductor"

// Second tokens of conductor subjects.
const (
	kindRequestToken = "req"
	kindPushToken    = "push"
)

// Backend names the owner of desired state that serves a request subject.
type Backend string

// The backends of design.md section 2.
const (
	// BackendKube is the hub kube-apiserver, served by work-service.
	BackendKube Backend = "kube"
	// BackendMaestro is Maestro's PostgreSQL database, served by db-service.
	BackendMaestro Backend = "maestro"
)

// Queue groups the backend services subscribe with, so each request reaches one replica.
const (
	QueueWorkService = "work-service"
	QueueDBService   = "db-service"
)

// PushWildcard matches every push subject.
const PushWildcard = Root + "." + kindPushToken + ".>"

// Kind tells request subjects from push subjects.
type Kind int

// Subject kinds.
const (
	KindRequest Kind = iota + 1
	KindPush
)

// Subject is a parsed conductor subject. Cluster is the unescaped cluster name.
type Subject struct {
	Kind    Kind
	Backend Backend // only for KindRequest
	Cluster string
	Key     string
}

// Valid reports whether b is one of the known backends.
func (b Backend) Valid() bool {
	return b == BackendKube || b == BackendMaestro
}

// QueueGroup is the queue group of the service that serves b.
func (b Backend) QueueGroup() string {
	if b == BackendMaestro {
		return QueueDBService
	}
	return QueueWorkService
}

// RequestWildcard is the subject a backend service subscribes to: every cluster, every key.
func RequestWildcard(b Backend) string {
	return Root + "." + kindRequestToken + "." + string(b) + ".>"
}

// RequestSubject builds conductor.req.<backend>.<escaped cluster>.<key>.
func RequestSubject(b Backend, cluster, key string) (string, error) {
	return Subject{Kind: KindRequest, Backend: b, Cluster: cluster, Key: key}.Build()
}

// PushSubject builds conductor.push.<escaped cluster>.<key>.
func PushSubject(cluster, key string) (string, error) {
	return Subject{Kind: KindPush, Cluster: cluster, Key: key}.Build()
}

// Build validates s and renders it as a NATS subject.
func (s Subject) Build() (string, error) {
	if s.Cluster == "" {
		return "", fmt.Errorf("bus: cluster name: %w", ErrEmptyToken)
	}
	if err := validateKey(s.Key); err != nil {
		return "", err
	}
	cluster := EscapeToken(s.Cluster)
	switch s.Kind {
	case KindRequest:
		if !s.Backend.Valid() {
			return "", fmt.Errorf("bus: unknown backend %q", s.Backend)
		}
		return strings.Join([]string{Root, kindRequestToken, string(s.Backend), cluster, s.Key}, "."), nil
	case KindPush:
		return strings.Join([]string{Root, kindPushToken, cluster, s.Key}, "."), nil
	}
	return "", fmt.Errorf("bus: unknown subject kind %d", s.Kind)
}

// String renders s, or a placeholder naming the problem when s is invalid (for logs).
func (s Subject) String() string {
	subject, err := s.Build()
	if err != nil {
		return "<invalid subject: " + err.Error() + ">"
	}
	return subject
}

// ParseSubject is the inverse of Build. It rejects anything Build would not produce,
// including non-canonical cluster escapes.
func ParseSubject(subject string) (Subject, error) {
	tokens := strings.Split(subject, ".")
	if len(tokens) < 4 || tokens[0] != Root {
		return Subject{}, fmt.Errorf("bus: %q is not a conductor subject", subject)
	}
	var s Subject
	var rest []string
	switch tokens[1] {
	case kindRequestToken:
		if len(tokens) != 5 {
			return Subject{}, fmt.Errorf("bus: request subject %q must have 5 tokens", subject)
		}
		s.Kind, s.Backend, rest = KindRequest, Backend(tokens[2]), tokens[3:]
		if !s.Backend.Valid() {
			return Subject{}, fmt.Errorf("bus: subject %q: unknown backend %q", subject, s.Backend)
		}
	case kindPushToken:
		if len(tokens) != 4 {
			return Subject{}, fmt.Errorf("bus: push subject %q must have 4 tokens", subject)
		}
		s.Kind, rest = KindPush, tokens[2:]
	default:
		return Subject{}, fmt.Errorf("bus: subject %q: unknown kind %q", subject, tokens[1])
	}
	cluster, err := UnescapeToken(rest[0])
	if err != nil {
		return Subject{}, fmt.Errorf("bus: subject %q: cluster: %w", subject, err)
	}
	if err := validateKey(rest[1]); err != nil {
		return Subject{}, fmt.Errorf("bus: subject %q: %w", subject, err)
	}
	s.Cluster, s.Key = cluster, rest[1]
	return s, nil
}

// validateKey accepts the short data-type keys: lower-case letters, digits and inner dashes.
// Keys are fixed names from a registry, so they are checked, never escaped.
func validateKey(key string) error {
	if key == "" {
		return fmt.Errorf("bus: data type key: %w", ErrEmptyToken)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0 && i < len(key)-1
		if !ok {
			return fmt.Errorf("bus: data type key %q: only a-z, 0-9 and inner '-' are allowed", key)
		}
	}
	return nil
}
