package maestro

import "time"

// APIPath is where Maestro serves its REST API version 1 under the server root.
const APIPath = "/api/maestro/v1"

// Consumer is Maestro's record of one target cluster; agents use its Name as their cluster name.
type Consumer struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	Href      string            `json:"href"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// ConsumerList is one page of consumers. Size is the number of items on this page,
// Total the number of consumers matching the search on all pages.
type ConsumerList struct {
	Kind  string     `json:"kind"`
	Page  int        `json:"page"`
	Size  int        `json:"size"`
	Total int        `json:"total"`
	Items []Consumer `json:"items"`
}

// ListOptions are the list query parameters Maestro understands. Zero values are left out,
// so Maestro's defaults apply (page 1, 100 items, no filter).
type ListOptions struct {
	// Search is a TSL expression over column names, e.g. `name = 'cluster1'`.
	Search string
	// OrderBy is a comma list of `<column> [asc|desc]`.
	OrderBy string
	Page    int
	Size    int
}

// consumerCreate is the POST body: Maestro refuses an id and defaults the name to the id.
type consumerCreate struct {
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// consumerPatch is the PATCH body. Labels must never be nil: Maestro treats a missing or
// null labels key as "leave the labels alone", and only `{}` clears them.
type consumerPatch struct {
	Labels map[string]string `json:"labels"`
}
