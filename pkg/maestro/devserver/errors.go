package devserver

import (
	"fmt"
	"net/http"
	"strconv"
)

// Maestro's error codes (its pkg/errors), the subset this server can produce plus the rest of
// the catalog that GET /errors lists.
const (
	errInvalidToken         = 1
	errForbidden            = 4
	errConflict             = 6
	errNotFound             = 7
	errValidation           = 8
	errGeneral              = 9
	errNotImplemented       = 10
	errUnauthorized         = 11
	errUnauthenticated      = 15
	errMalformedRequest     = 17
	errBadRequest           = 21
	errFailedToParse        = 23
	errDatabaseAdvisoryLock = 26
)

type catalogEntry struct {
	code       int
	reason     string
	httpStatus int
}

// catalog is Maestro's error list in its order: default reason and HTTP status per code.
var catalog = []catalogEntry{
	{errInvalidToken, "Invalid token provided", http.StatusForbidden},
	{errForbidden, "Forbidden to perform this action", http.StatusForbidden},
	{errConflict, "An entity with the specified unique values already exists", http.StatusConflict},
	{errNotFound, "Resource not found", http.StatusNotFound},
	{errValidation, "General validation failure", http.StatusBadRequest},
	{errGeneral, "Unspecified error", http.StatusInternalServerError},
	{errNotImplemented, "HTTP Method not implemented for this endpoint", http.StatusMethodNotAllowed},
	{errUnauthorized, "Account is unauthorized to perform this action", http.StatusForbidden},
	{errUnauthenticated, "Account authentication could not be verified", http.StatusUnauthorized},
	{errMalformedRequest, "Unable to read request body", http.StatusBadRequest},
	{errBadRequest, "Bad request", http.StatusBadRequest},
	{errFailedToParse, "Failed to parse search query", http.StatusBadRequest},
	{errDatabaseAdvisoryLock, "Database advisory lock error", http.StatusInternalServerError},
}

func lookupError(code int) (catalogEntry, bool) {
	for _, e := range catalog {
		if e.code == code {
			return e, true
		}
	}
	return catalogEntry{}, false
}

// serviceError is a failed request: a catalog code plus the reason for this occurrence.
type serviceError struct {
	code   int
	reason string
}

func newError(code int, format string, args ...any) *serviceError {
	return &serviceError{code: code, reason: fmt.Sprintf(format, args...)}
}

func (e *serviceError) httpStatus() int {
	entry, ok := lookupError(e.code)
	if !ok {
		return http.StatusInternalServerError
	}
	return entry.httpStatus
}

// errorDocument is Maestro's error body; keys and their order as Maestro writes them.
type errorDocument struct {
	Code        string `json:"code"`
	Href        string `json:"href"`
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	OperationID string `json:"operation_id"`
	Reason      string `json:"reason"`
}

func presentError(code int, reason, operationID string) errorDocument {
	id := strconv.Itoa(code)
	return errorDocument{
		Code:        "maestro-" + id,
		Href:        apiV1Path + "/errors/" + id,
		ID:          id,
		Kind:        "Error",
		OperationID: operationID,
		Reason:      reason,
	}
}
