package maestro

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrNotFound is returned by FindByName when no consumer has the name.
var ErrNotFound = errors.New("maestro: consumer not found")

// Maestro's error codes (maestro.md §3), as they appear in Error.Code.
const (
	CodeForbidden        = "maestro-4"
	CodeConflict         = "maestro-6"
	CodeNotFound         = "maestro-7"
	CodeValidation       = "maestro-8"
	CodeGeneral          = "maestro-9"
	CodeMalformedRequest = "maestro-17"
	CodeBadRequest       = "maestro-21"
	CodeFailedSearch     = "maestro-23"
)

// Error is a response Maestro answered with an unexpected HTTP status. When the body is
// Maestro's error document its fields are filled in; otherwise (a proxy in between, say)
// Reason holds the start of the body.
type Error struct {
	// Method and Path identify the request, for messages.
	Method string `json:"-"`
	Path   string `json:"-"`
	// StatusCode is the HTTP status of the response.
	StatusCode int `json:"-"`

	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Href        string `json:"href"`
	Code        string `json:"code"`
	Reason      string `json:"reason"`
	OperationID string `json:"operation_id"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "maestro: %s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	if e.OperationID != "" {
		b.WriteString(" (operation " + e.OperationID + ")")
	}
	return b.String()
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsNotFound reports whether Maestro has no such consumer: a 404 or an empty FindByName.
func IsNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	e, ok := AsError(err)
	return ok && e.StatusCode == http.StatusNotFound
}

// IsConflict reports a 409: a consumer with that name already exists.
func IsConflict(err error) bool {
	e, ok := AsError(err)
	return ok && e.StatusCode == http.StatusConflict
}

// IsForbidden reports a 403: on delete it means resources still reference the consumer.
func IsForbidden(err error) bool {
	e, ok := AsError(err)
	return ok && e.StatusCode == http.StatusForbidden
}

// IsInvalid reports a request Maestro will refuse however often it is sent: any 400, and
// the 500 maestro-9 that Maestro gives for a name failing its RFC 1123 label validation
// (its reason carries the validation message "...: Invalid value: ...").
func IsInvalid(err error) bool {
	e, ok := AsError(err)
	if !ok {
		return false
	}
	if e.StatusCode == http.StatusBadRequest {
		return true
	}
	return e.Code == CodeGeneral && strings.Contains(e.Reason, "Invalid value")
}
