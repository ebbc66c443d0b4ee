package maestro

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

const (
	// DefaultTimeout bounds one REST call when Options.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// maxBodyBytes caps what is read of a response: consumer documents are small, and a
	// misbehaving proxy must not make us buffer without limit.
	maxBodyBytes = 8 << 20
	// maxReasonBytes is how much of a non-Maestro error body ends up in Error.Reason.
	maxReasonBytes = 512
	// operationIDHeader is echoed by Maestro as operation_id in error bodies, which ties
	// our logs to Maestro's.
	operationIDHeader = "X-Operation-ID"
)

// Options configure a Client.
type Options struct {
	// BaseURL is the root of Maestro's REST server, e.g. http://maestro:8000. A URL that
	// already ends in /api/maestro/v1 is accepted as well.
	BaseURL string
	// CAFile is a PEM bundle to verify an https BaseURL with, instead of the system roots.
	CAFile string
	// TokenFile holds a bearer token sent with every request. It is read on every call, so a
	// rotated (projected service account) token is picked up without a restart.
	TokenFile string
	// Timeout bounds each call, on top of the caller's context. Zero means DefaultTimeout.
	Timeout time.Duration
	// UserAgent is sent as the User-Agent header when set.
	UserAgent string
	// Metrics, when set, counts and times every call.
	Metrics *Metrics
}

// Client calls Maestro's consumer REST API. It is safe for concurrent use.
type Client struct {
	baseURL   *url.URL
	tokenFile string
	userAgent string
	http      *http.Client
}

// New checks opts and builds a Client. It does not contact Maestro.
func New(opts Options) (*Client, error) {
	base, err := parseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	transport, err := newTransport(opts.CAFile)
	if err != nil {
		return nil, err
	}
	var rt http.RoundTripper = transport
	if opts.Metrics != nil {
		rt = opts.Metrics.instrument(rt)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{
		baseURL:   base,
		tokenFile: opts.TokenFile,
		userAgent: opts.UserAgent,
		http:      &http.Client{Transport: rt, Timeout: timeout},
	}, nil
}

func parseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("maestro: base URL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("maestro: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("maestro: base URL %q: want http(s)://host[:port]", raw)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), APIPath) + APIPath
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

func newTransport(caFile string) (*http.Transport, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if caFile == "" {
		return transport, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("maestro: CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("maestro: CA file %s holds no PEM certificate", caFile)
	}
	transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return transport, nil
}

// Get returns the consumer with the given id (Maestro's GET takes ids, never names).
func (c *Client) Get(ctx context.Context, id string) (*Consumer, error) {
	var out Consumer
	if err := c.do(ctx, http.MethodGet, consumerPath(id), nil, nil, http.StatusOK, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// List returns one page of consumers.
func (c *Client) List(ctx context.Context, opts ListOptions) (*ConsumerList, error) {
	query := url.Values{}
	if opts.Search != "" {
		query.Set("search", opts.Search)
	}
	if opts.OrderBy != "" {
		query.Set("orderBy", opts.OrderBy)
	}
	if opts.Page > 0 {
		query.Set("page", strconv.Itoa(opts.Page))
	}
	if opts.Size > 0 {
		query.Set("size", strconv.Itoa(opts.Size))
	}
	var out ConsumerList
	if err := c.do(ctx, http.MethodGet, "/consumers", query, nil, http.StatusOK, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FindByName returns the consumer called name, or an error matching ErrNotFound.
func (c *Client) FindByName(ctx context.Context, name string) (*Consumer, error) {
	if name == "" || strings.ContainsAny(name, `'\`) {
		// Kubernetes names never hold quotes; refusing them keeps the search expression sound.
		return nil, fmt.Errorf("maestro: cannot search for consumer name %q", name)
	}
	list, err := c.List(ctx, ListOptions{Search: fmt.Sprintf("name = '%s'", name)})
	if err != nil {
		return nil, err
	}
	for i := range list.Items {
		if list.Items[i].Name == name {
			return &list.Items[i], nil
		}
	}
	return nil, fmt.Errorf("%w: name %q", ErrNotFound, name)
}

// Create makes a consumer. An existing name gives an error matching IsConflict; a name that
// is not an RFC 1123 label gives one matching IsInvalid.
func (c *Client) Create(ctx context.Context, name string, labels map[string]string) (*Consumer, error) {
	var out Consumer
	body := consumerCreate{Name: name, Labels: labels}
	if err := c.do(ctx, http.MethodPost, "/consumers", nil, body, http.StatusCreated, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PatchLabels replaces all labels of the consumer with the given id; nil or empty clears them.
func (c *Client) PatchLabels(ctx context.Context, id string, labels map[string]string) (*Consumer, error) {
	if labels == nil {
		labels = map[string]string{}
	}
	var out Consumer
	if err := c.do(ctx, http.MethodPatch, consumerPath(id), nil, consumerPatch{Labels: labels}, http.StatusOK, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete removes the consumer with the given id. While resources reference it Maestro
// refuses with an error matching IsForbidden. Maestro answers 204 for an unknown id too.
func (c *Client) Delete(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, consumerPath(id), nil, nil, http.StatusNoContent, nil)
}

func consumerPath(id string) string {
	return "/consumers/" + url.PathEscape(id)
}

// do sends one request and decodes a `want` response into out, or any other status into *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, want int, out any) error {
	req, err := c.newRequest(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("maestro: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return fmt.Errorf("maestro: %s %s: reading response: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return decodeError(method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("maestro: %s %s: decoding response: %w", method, path, err)
	}
	return nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body any) (*http.Request, error) {
	u := *c.baseURL
	u.Path += path
	u.RawQuery = query.Encode()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("maestro: encoding %s %s: %w", method, path, err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reader)
	if err != nil {
		return nil, fmt.Errorf("maestro: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	req.Header.Set(operationIDHeader, uuid.NewString())
	if c.tokenFile != "" {
		token, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("maestro: token file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	}
	return req, nil
}

func decodeError(method, path string, status int, body []byte) error {
	e := &Error{}
	if json.Unmarshal(body, e) != nil || e.Kind != "Error" {
		e = &Error{Reason: strings.TrimSpace(string(body[:min(len(body), maxReasonBytes)]))}
	}
	e.Method, e.Path, e.StatusCode = method, path, status
	return e
}
