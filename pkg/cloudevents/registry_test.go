package cloudevents

import (
	"errors"
	"slices"
	"testing"
)

func TestRegistrations(t *testing.T) {
	want := []struct {
		dt       DataType
		key      string
		backends []Backend
		rv       ResourceVersionFormat
	}{
		{ManagedClustersDataType, "managedclusters", []Backend{BackendKube}, ResourceVersionDecimalString},
		{CertificateSigningRequestsDataType, "csrs", []Backend{BackendKube}, ResourceVersionDecimalString},
		{LeasesDataType, "leases", []Backend{BackendKube}, ResourceVersionDecimalString},
		{EventsDataType, "events", []Backend{BackendKube}, ResourceVersionDecimalString},
		{ManagedClusterAddOnsV1alpha1DataType, "addons-v1alpha1", []Backend{BackendKube}, ResourceVersionDecimalString},
		{ManagedClusterAddOnsV1beta1DataType, "addons-v1beta1", []Backend{BackendKube}, ResourceVersionDecimalString},
		{ManifestBundlesDataType, "manifestbundles", []Backend{BackendKube, BackendMaestro}, ResourceVersionInteger},
		{TokenRequestsDataType, "tokenrequests", []Backend{BackendKube}, ResourceVersionDecimalString},
	}
	if n := len(Registrations()); n != len(want) {
		t.Fatalf("%d registrations, want %d", n, len(want))
	}
	for _, w := range want {
		t.Run(w.key, func(t *testing.T) {
			for name, lookup := range map[string]func() (Registration, bool){
				"Lookup":       func() (Registration, bool) { return Lookup(w.dt) },
				"LookupString": func() (Registration, bool) { return LookupString(string(w.dt)) },
				"LookupKey":    func() (Registration, bool) { return LookupKey(w.key) },
			} {
				r, ok := lookup()
				if !ok || r.DataType != w.dt || r.Key != w.key || !slices.Equal(r.Backends, w.backends) || r.ResourceVersion != w.rv {
					t.Errorf("%s = %+v, %v", name, r, ok)
				}
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	if _, ok := Lookup("example.com.v1.widgets"); ok {
		t.Error("Lookup found an unregistered data type")
	}
	if _, ok := LookupString(""); ok {
		t.Error("LookupString found the empty data type")
	}
	if _, ok := LookupKey("widgets"); ok {
		t.Error("LookupKey found an unknown key")
	}
	if _, ok := LookupKey(string(LeasesDataType)); ok {
		t.Error("LookupKey matched a data type string instead of a key")
	}
}

// Keys go into NATS subjects: they must be unique single tokens.
func TestKeysAreUniqueSubjectTokens(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Registrations() {
		if seen[r.Key] {
			t.Errorf("duplicate key %q", r.Key)
		}
		seen[r.Key] = true
		for _, c := range r.Key {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Errorf("key %q has %q, not safe in a subject token", r.Key, c)
			}
		}
	}
}

func TestRegistrationsAreNotShared(t *testing.T) {
	regs := Registrations()
	regs[0].Key = "changed"
	r, _ := Lookup(ManifestBundlesDataType)
	r.Backends[0] = "changed"
	if Registrations()[0].Key == "changed" {
		t.Error("Registrations returned shared state")
	}
	if again, _ := Lookup(ManifestBundlesDataType); again.Backends[0] != BackendKube {
		t.Error("Lookup returned shared backends")
	}
}

func TestBackendFor(t *testing.T) {
	works, _ := Lookup(ManifestBundlesDataType)
	leases, _ := Lookup(LeasesDataType)
	cases := []struct {
		reg            Registration
		originalSource string
		want           Backend
		wantErr        bool
	}{
		{works, "kube", BackendKube, false},
		{works, "maestro", BackendMaestro, false},
		{works, "kube::cluster1/w1", BackendKube, false},
		{works, "maestro::5e7f0c2a", BackendMaestro, false},
		{works, "", "", true},
		{works, "kub", "", true},
		{works, "kubernetes", "", true},
		{works, "maestro2", "", true},
		{works, "other", "", true},
		{leases, "", BackendKube, false},
		{leases, "maestro", BackendKube, false},
	}
	for _, tc := range cases {
		t.Run(tc.reg.Key+"/"+tc.originalSource, func(t *testing.T) {
			got, err := tc.reg.BackendFor(tc.originalSource)
			if tc.wantErr {
				if !errors.Is(err, ErrUnknownBackend) {
					t.Fatalf("BackendFor = %q, %v; want ErrUnknownBackend", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("BackendFor = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
