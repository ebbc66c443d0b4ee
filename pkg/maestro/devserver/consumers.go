package devserver

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	consumerKind     = "Consumer"
	consumerListKind = "ConsumerList"
	// Maestro's list size bounds: the default, and the cap that negative or too large sizes get.
	defaultListSize = 100
	maxListSize     = 65500
)

// consumerDocument is the Consumer JSON: exactly these keys, labels left out when empty,
// times in RFC 3339 with nanoseconds.
type consumerDocument struct {
	CreatedAt time.Time         `json:"created_at"`
	Href      string            `json:"href"`
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	Labels    map[string]string `json:"labels,omitempty"`
	Name      string            `json:"name"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func presentConsumer(c consumerRow) consumerDocument {
	return consumerDocument{
		CreatedAt: c.CreatedAt.UTC(),
		Href:      apiV1Path + "/consumers/" + c.ID,
		ID:        c.ID,
		Kind:      consumerKind,
		Labels:    c.Labels,
		Name:      c.Name,
		UpdatedAt: c.UpdatedAt.UTC(),
	}
}

// consumerRequest is the POST body. Pointers tell an absent key from an empty one.
type consumerRequest struct {
	ID        *string            `json:"id"`
	Kind      *string            `json:"kind"`
	Href      *string            `json:"href"`
	Name      *string            `json:"name"`
	Labels    *map[string]string `json:"labels"`
	CreatedAt *time.Time         `json:"created_at"`
	UpdatedAt *time.Time         `json:"updated_at"`
}

// consumerPatchRequest is the PATCH body: only labels, and only when present and not null.
type consumerPatchRequest struct {
	Labels *map[string]string `json:"labels"`
}

// decodeBody reads r's JSON body into into, answering Maestro's maestro-17 on failure.
func decodeBody(r *http.Request, into any) *serviceError {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return newError(errMalformedRequest, "Unable to read request body: %s", err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		return newError(errMalformedRequest, "Invalid request format: %s", err)
	}
	return nil
}

func (s *Server) createConsumer(w http.ResponseWriter, r *http.Request) {
	var req consumerRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.ID != nil && *req.ID != "" {
		s.writeError(w, r, newError(errValidation, "id must be empty"))
		return
	}
	now := time.Now().UTC()
	c := consumerRow{ID: uuid.NewString(), CreatedAt: now, UpdatedAt: now}
	if req.Name != nil {
		c.Name = *req.Name
	}
	if req.Labels != nil && len(*req.Labels) > 0 {
		c.Labels = *req.Labels
	}
	if c.Name != "" {
		if msg := validateConsumerName(c.Name); msg != "" {
			s.writeError(w, r, newError(errGeneral, "Unable to create Consumer: %s", msg))
			return
		}
	} else {
		c.Name = c.ID
	}
	if err := s.store.insert(r.Context(), c); err != nil {
		if pgErrorCode(err) == pgUniqueViolation {
			s.writeError(w, r, newError(errConflict, "This Consumer already exists"))
			return
		}
		s.writeError(w, r, newError(errGeneral, "Unable to create Consumer: %s", err))
		return
	}
	writeJSON(w, http.StatusCreated, presentConsumer(c))
}

// validateConsumerName applies Maestro's rule (a namespace name, i.e. an RFC 1123 label) and
// returns its message, or "" when the name is fine.
func validateConsumerName(name string) string {
	var errs field.ErrorList
	for _, msg := range apivalidation.ValidateNamespaceName(name, false) {
		errs = append(errs, field.Invalid(field.NewPath("consumer").Child("name"), name, msg))
	}
	if len(errs) == 0 {
		return ""
	}
	return errs.ToAggregate().Error()
}

func (s *Server) getConsumer(w http.ResponseWriter, r *http.Request) {
	c, err := s.findConsumer(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, presentConsumer(c))
}

func (s *Server) findConsumer(r *http.Request) (consumerRow, *serviceError) {
	id := r.PathValue("id")
	c, err := s.store.get(r.Context(), id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return c, newError(errNotFound, "Consumer with id='%s' not found", id)
	case err != nil:
		return c, newError(errGeneral, "Unable to find Consumer with id='%s': %s", id, err)
	}
	return c, nil
}

func (s *Server) patchConsumer(w http.ResponseWriter, r *http.Request) {
	var req consumerPatchRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, serr := s.findConsumer(r)
	if serr != nil {
		s.writeError(w, r, serr)
		return
	}
	if req.Labels != nil {
		c.Labels = nil
		if len(*req.Labels) > 0 {
			c.Labels = *req.Labels
		}
	}
	c.UpdatedAt = time.Now().UTC()
	if err := s.store.replace(r.Context(), c); err != nil {
		if pgErrorCode(err) == pgUniqueViolation {
			s.writeError(w, r, newError(errConflict, "Changes to Consumer conflict with existing records"))
			return
		}
		s.writeError(w, r, newError(errGeneral, "Unable to update Consumer: %s", err))
		return
	}
	writeJSON(w, http.StatusOK, presentConsumer(c))
}

func (s *Server) deleteConsumer(w http.ResponseWriter, r *http.Request) {
	if err := s.store.delete(r.Context(), r.PathValue("id")); err != nil {
		if pgErrorCode(err) == pgForeignKeyViolation {
			s.writeError(w, r, newError(errForbidden, "Unable to delete Consumer: %s", err))
			return
		}
		s.writeError(w, r, newError(errGeneral, "Unable to delete Consumer: %s", err))
		return
	}
	writeJSON(w, http.StatusNoContent, nil)
}

type consumerList struct {
	Items []consumerDocument `json:"items"`
	Kind  string             `json:"kind"`
	Page  int                `json:"page"`
	Size  int                `json:"size"`
	Total int                `json:"total"`
}

func (s *Server) listConsumers(w http.ResponseWriter, r *http.Request) {
	page, q, serr := parseListArguments(r.URL.Query())
	if serr != nil {
		s.writeError(w, r, serr)
		return
	}
	rows, total, err := s.store.list(r.Context(), q)
	if err != nil {
		s.writeError(w, r, newError(errGeneral, "Unable to list resources: %s", err))
		return
	}
	list := consumerList{Items: []consumerDocument{}, Kind: consumerListKind, Page: page, Size: len(rows), Total: total}
	for _, c := range rows {
		list.Items = append(list.Items, presentConsumer(c))
	}
	writeJSON(w, http.StatusOK, list)
}

// parseListArguments reads page, size, search and orderBy with Maestro's defaults and
// leniency: unparsable numbers count as 0, sizes below 0 or above 65500 become 65500.
func parseListArguments(params url.Values) (int, listQuery, *serviceError) {
	page, size := 1, defaultListSize
	if v := strings.TrimSpace(params.Get("page")); v != "" {
		page, _ = strconv.Atoi(v)
	}
	if v := strings.TrimSpace(params.Get("size")); v != "" {
		size, _ = strconv.Atoi(v)
	}
	if size > maxListSize || size < 0 {
		size = maxListSize
	}
	q := listQuery{limit: size, offset: max(0, (page-1)*size)}
	if search := strings.TrimSpace(params.Get("search")); search != "" {
		where, args, err := translateSearch(consumersTable, search)
		if err != nil {
			return 0, q, newError(errBadRequest, "Failed to parse search query: %s", search)
		}
		q.where, q.args = where, args
	}
	if v := strings.TrimSpace(params.Get("orderBy")); v != "" {
		for _, arg := range strings.Split(v, ",") {
			order, ok := parseOrderBy(arg)
			if !ok {
				return 0, q, newError(errBadRequest, "bad order value '%s'", arg)
			}
			q.orderBy = append(q.orderBy, order)
		}
	}
	return page, q, nil
}

// parseOrderBy turns "<column>" or "<column> asc|desc" into SQL.
func parseOrderBy(arg string) (string, bool) {
	parts := strings.Split(strings.TrimSpace(arg), " ")
	direction := "asc"
	switch {
	case len(parts) == 2:
		direction = parts[1]
	case len(parts) != 1:
		return "", false
	}
	if direction != "asc" && direction != "desc" || !isPlainIdentifier(parts[0]) {
		return "", false
	}
	return pgx.Identifier{consumersTable, parts[0]}.Sanitize() + " " + direction, true
}
