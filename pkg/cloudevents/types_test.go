package cloudevents

import (
	"errors"
	"testing"
)

func TestParseEventType(t *testing.T) {
	cases := []struct {
		in      string
		want    EventType
		wantErr bool
	}{
		{in: "io.open-cluster-management.works.v1alpha1.manifestbundles.status.update_request", want: EventType{
			DataType: ManifestBundlesDataType, Subresource: SubresourceStatus, Action: ActionUpdateRequest}},
		{in: "cluster.open-cluster-management.io.v1.managedclusters.spec.create_request", want: EventType{
			DataType: ManagedClustersDataType, Subresource: SubresourceSpec, Action: ActionCreateRequest}},
		{in: "g.v1.r.spec.delete_request", want: EventType{DataType: "g.v1.r", Subresource: SubresourceSpec, Action: ActionDeleteRequest}},
		{in: "g.v1.r.spec.resync_request", want: EventType{DataType: "g.v1.r", Subresource: SubresourceSpec, Action: ActionResyncRequest}},
		{in: "g.v1.r.status.resync_response", want: EventType{DataType: "g.v1.r", Subresource: SubresourceStatus, Action: ActionResyncResponse}},
		{in: "v1.r.spec.create_request", wantErr: true},    // 4 tokens
		{in: "", wantErr: true},                            // nothing
		{in: HeartbeatType, wantErr: true},                 // heartbeat is not an event type
		{in: "g.v1.r.meta.create_request", wantErr: true},  // subresource must be spec or status
		{in: "g.v1.r.spec.patch_request", wantErr: true},   // unknown action
		{in: "g.v1.r.spec.watch_request", wantErr: true},   // internal only, never on the wire
		{in: "g.v1.r.spec.CREATE_REQUEST", wantErr: true},  // actions are exact strings
		{in: "g..r.spec.create_request", wantErr: true},    // empty version
		{in: ".v1.r.spec.create_request", wantErr: true},   // empty group
		{in: "g.v1.r.spec.create_request.", wantErr: true}, // trailing dot
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseEventType(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidType) {
					t.Fatalf("ParseEventType(%q) = %v, %v; want ErrInvalidType", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseEventType(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			if got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}

func TestParseDataType(t *testing.T) {
	cases := []struct {
		in                       string
		group, version, resource string
		wantErr                  bool
	}{
		{in: string(ManifestBundlesDataType), group: "io.open-cluster-management.works", version: "v1alpha1", resource: "manifestbundles"},
		{in: string(CertificateSigningRequestsDataType), group: "certificates.k8s.io", version: "v1", resource: "certificatesigningrequests"},
		{in: "g.v.r", group: "g", version: "v", resource: "r"},
		{in: "v.r", wantErr: true},
		{in: "r", wantErr: true},
		{in: "g..r", wantErr: true},
		{in: "g.v.", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			dt, err := ParseDataType(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidType) {
					t.Fatalf("ParseDataType(%q) = %q, %v; want ErrInvalidType", tc.in, dt, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dt.Group() != tc.group || dt.Version() != tc.version || dt.Resource() != tc.resource || dt.String() != tc.in {
				t.Errorf("parts = %q %q %q", dt.Group(), dt.Version(), dt.Resource())
			}
		})
	}
}

func TestMalformedDataTypeParts(t *testing.T) {
	for _, dt := range []DataType{"", "r", "v.r"} {
		if dt.Group() != "" || dt.Version() != "" || dt.Resource() != "" {
			t.Errorf("%q: parts = %q %q %q, want empty", dt, dt.Group(), dt.Version(), dt.Resource())
		}
	}
}

func TestEveryRegisteredDataTypeParses(t *testing.T) {
	for _, r := range Registrations() {
		if _, err := ParseDataType(string(r.DataType)); err != nil {
			t.Errorf("%s: %v", r.DataType, err)
		}
	}
}
