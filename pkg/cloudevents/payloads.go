package cloudevents

import "encoding/json"

// ResourceVersionEntry is one cached object in a spec resync request.
type ResourceVersionEntry struct {
	ResourceID      string `json:"resourceID"`
	ResourceVersion int64  `json:"resourceVersion"`
}

// ResourceVersionList is the data of a spec.resync_request: every object in the agent's cache.
type ResourceVersionList struct {
	ResourceVersions []ResourceVersionEntry `json:"resourceVersions"`
}

// MarshalJSON writes an empty list as [] because agents never send null.
func (l ResourceVersionList) MarshalJSON() ([]byte, error) {
	type plain ResourceVersionList
	if l.ResourceVersions == nil {
		l.ResourceVersions = []ResourceVersionEntry{}
	}
	return json.Marshal(plain(l))
}

// StatusHashEntry is one resource in a status resync request.
type StatusHashEntry struct {
	ResourceID string `json:"resourceID"`
	StatusHash string `json:"statusHash"`
}

// StatusHashList is the data of a status.resync_request: the status hashes the requester holds.
type StatusHashList struct {
	StatusHashes []StatusHashEntry `json:"statusHashes"`
}

// MarshalJSON writes an empty list as [] rather than null.
func (l StatusHashList) MarshalJSON() ([]byte, error) {
	type plain StatusHashList
	if l.StatusHashes == nil {
		l.StatusHashes = []StatusHashEntry{}
	}
	return json.Marshal(plain(l))
}
