package devserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	apiPath           = "/api/maestro"
	apiV1Path         = apiPath + "/v1"
	operationIDHeader = "X-Operation-ID"
)

// Options configure a Server.
type Options struct {
	// Pool reaches a database holding Maestro's schema (maestro.md §1). Required.
	Pool *pgxpool.Pool
	// Logger receives one line per failed request; slog.Default() when nil.
	Logger *slog.Logger
}

// Server is an http.Handler answering like Maestro's REST API for consumers.
type Server struct {
	store  *store
	log    *slog.Logger
	router http.Handler
}

// New builds a Server on opts.Pool. It does not check the schema.
func New(opts Options) (*Server, error) {
	if opts.Pool == nil {
		return nil, errors.New("devserver: a PostgreSQL pool is required")
	}
	s := &Server{store: &store{pool: opts.Pool}, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPath, s.getAPI)
	mux.HandleFunc("GET "+apiV1Path, s.getAPIV1)
	mux.HandleFunc("GET "+apiV1Path+"/errors", s.listErrors)
	mux.HandleFunc("GET "+apiV1Path+"/errors/{id}", s.getError)
	mux.HandleFunc("GET "+apiV1Path+"/consumers", s.listConsumers)
	mux.HandleFunc("POST "+apiV1Path+"/consumers", s.createConsumer)
	mux.HandleFunc("GET "+apiV1Path+"/consumers/{id}", s.getConsumer)
	mux.HandleFunc("PATCH "+apiV1Path+"/consumers/{id}", s.patchConsumer)
	mux.HandleFunc("DELETE "+apiV1Path+"/consumers/{id}", s.deleteConsumer)
	mux.HandleFunc("/", s.notFound)
	s.router = mux
	return s, nil
}

// ServeHTTP strips a trailing slash and makes sure the request has an operation id (echoed in
// error bodies and the response header), as Maestro's middleware does, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Path) > 1 && strings.HasSuffix(r.URL.Path, "/") {
		r.URL.Path = strings.TrimRight(r.URL.Path, "/")
		r.URL.RawPath = ""
	}
	if r.Header.Get(operationIDHeader) == "" {
		r.Header.Set(operationIDHeader, uuid.NewString())
	}
	w.Header().Set(operationIDHeader, r.Header.Get(operationIDHeader))
	s.router.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err *serviceError) {
	status := err.httpStatus()
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "maestro devserver: request failed",
		"method", r.Method, "path", r.URL.Path, "status", status, "reason", err.reason)
	writeJSON(w, status, presentError(err.code, err.reason, r.Header.Get(operationIDHeader)))
}

// notFound answers unknown paths like Maestro's router: a 404 error document with id "404".
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, errorDocument{
		Code:        "maestro-404",
		Href:        apiV1Path + "/errors/404",
		ID:          "404",
		Kind:        "Error",
		OperationID: r.Header.Get(operationIDHeader),
		Reason:      fmt.Sprintf("The requested resource '%s' doesn't exist", r.URL.Path),
	})
}

type versionMetadata struct {
	ID          string               `json:"id"`
	Kind        string               `json:"kind,omitempty"`
	Href        string               `json:"href"`
	Collections []collectionMetadata `json:"collections,omitempty"`
}

type collectionMetadata struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Href string `json:"href"`
}

func (s *Server) getAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		ID       string            `json:"id"`
		Kind     string            `json:"kind"`
		Href     string            `json:"href"`
		Versions []versionMetadata `json:"versions"`
	}{
		ID: "maestro", Kind: "API", Href: apiPath,
		Versions: []versionMetadata{{ID: "v1", Href: apiV1Path}},
	})
}

func (s *Server) getAPIV1(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, versionMetadata{
		ID: "v1", Kind: "APIVersion", Href: apiV1Path,
		Collections: []collectionMetadata{
			{ID: "consumers", Kind: "ConsumerList", Href: apiV1Path + "/consumers"},
		},
	})
}

type errorList struct {
	Items []errorDocument `json:"items"`
	Kind  string          `json:"kind"`
	Page  int             `json:"page"`
	Size  int             `json:"size"`
	Total int             `json:"total"`
}

func (s *Server) listErrors(w http.ResponseWriter, r *http.Request) {
	list := errorList{Kind: "ErrorList", Page: 1, Size: len(catalog), Total: len(catalog)}
	for _, e := range catalog {
		doc := presentError(e.code, e.reason, "")
		list.Items = append(list.Items, doc)
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) getError(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	code, err := strconv.Atoi(id)
	entry, ok := lookupError(code)
	if err != nil || !ok {
		s.writeError(w, r, newError(errNotFound, "No error with id %s exists", id))
		return
	}
	writeJSON(w, http.StatusOK, presentError(entry.code, entry.reason, ""))
}
