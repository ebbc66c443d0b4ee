package cloudevents

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestPayloadsMarshal(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"empty resync request", ResourceVersionList{}, `{"resourceVersions":[]}`},
		{"resync request", ResourceVersionList{ResourceVersions: []ResourceVersionEntry{{ResourceID: "a", ResourceVersion: 3}}},
			`{"resourceVersions":[{"resourceID":"a","resourceVersion":3}]}`},
		{"empty status hashes", StatusHashList{}, `{"statusHashes":[]}`},
		{"status hashes", StatusHashList{StatusHashes: []StatusHashEntry{{ResourceID: "a", StatusHash: "ff"}}},
			`{"statusHashes":[{"resourceID":"a","statusHash":"ff"}]}`},
		{"pointer", &ResourceVersionList{}, `{"resourceVersions":[]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.in)
			if err != nil || string(got) != tc.want {
				t.Errorf("Marshal = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

// The empty resync request an agent sends is byte-identical to what we produce.
func TestPayloadsMatchAgentBytes(t *testing.T) {
	recorded, err := os.ReadFile(filepath.Join(goldenDir, "agent-work-spec-resync-request-empty.data.json"))
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := json.Marshal(ResourceVersionList{})
	if string(ours) != string(recorded) {
		t.Errorf("ours %s, agent %s", ours, recorded)
	}

	recorded, err = os.ReadFile(filepath.Join(goldenDir, "agent-work-spec-resync-request.data.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list ResourceVersionList
	if err := json.Unmarshal(recorded, &list); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(list)
	if string(again) != string(recorded) {
		t.Errorf("re-marshal %s, agent %s", again, recorded)
	}
}
