package bus_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
)

func TestSubjectsBuildAndParse(t *testing.T) {
	cases := []struct {
		name    string
		subject bus.Subject
		want    string
	}{
		{"kube request", bus.Subject{Kind: bus.KindRequest, Backend: bus.BackendKube, Cluster: "cluster1", Key: "managedclusters"},
			"conductor.req.kube.cluster1.managedclusters"},
		{"maestro request", bus.Subject{Kind: bus.KindRequest, Backend: bus.BackendMaestro, Cluster: "c-2", Key: "manifestbundles"},
			"conductor.req.maestro.c-2.manifestbundles"},
		{"push", bus.Subject{Kind: bus.KindPush, Cluster: "cluster1", Key: "addons-v1beta1"},
			"conductor.push.cluster1.addons-v1beta1"},
		{"dotted cluster", bus.Subject{Kind: bus.KindPush, Cluster: "prod.eu-west.1", Key: "leases"},
			"conductor.push.prod%2Eeu-west%2E1.leases"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.subject.Build()
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if got != tc.want {
				t.Fatalf("Build = %q, want %q", got, tc.want)
			}
			parsed, err := bus.ParseSubject(got)
			if err != nil {
				t.Fatalf("ParseSubject(%q): %v", got, err)
			}
			if parsed != tc.subject {
				t.Fatalf("ParseSubject(%q) = %+v, want %+v", got, parsed, tc.subject)
			}
		})
	}
}

func TestSubjectHelpers(t *testing.T) {
	req, err := bus.RequestSubject(bus.BackendKube, "a.b", "csrs")
	if err != nil || req != "conductor.req.kube.a%2Eb.csrs" {
		t.Fatalf("RequestSubject = %q, %v", req, err)
	}
	push, err := bus.PushSubject("a.b", "csrs")
	if err != nil || push != "conductor.push.a%2Eb.csrs" {
		t.Fatalf("PushSubject = %q, %v", push, err)
	}
	if got := bus.RequestWildcard(bus.BackendKube); got != "conductor.req.kube.>" {
		t.Fatalf("RequestWildcard(kube) = %q", got)
	}
	if got := bus.RequestWildcard(bus.BackendMaestro); got != "conductor.req.maestro.>" {
		t.Fatalf("RequestWildcard(maestro) = %q", got)
	}
	if bus.PushWildcard != "conductor.push.>" {
		t.Fatalf("PushWildcard = %q", bus.PushWildcard)
	}
	if bus.BackendKube.QueueGroup() != bus.QueueWorkService || bus.BackendMaestro.QueueGroup() != bus.QueueDBService {
		t.Fatal("backends map to the wrong queue groups")
	}
	for _, w := range []string{bus.RequestWildcard(bus.BackendKube), bus.PushWildcard} {
		if !server.IsValidSubject(w) {
			t.Fatalf("%q is not a valid NATS subject", w)
		}
	}
}

func TestSubjectBuildRejectsInvalidInput(t *testing.T) {
	invalid := []bus.Subject{
		{Kind: bus.KindPush, Cluster: "", Key: "leases"},
		{Kind: bus.KindPush, Cluster: "c", Key: ""},
		{Kind: bus.KindPush, Cluster: "c", Key: "Leases"},
		{Kind: bus.KindPush, Cluster: "c", Key: "a.b"},
		{Kind: bus.KindPush, Cluster: "c", Key: "-a"},
		{Kind: bus.KindRequest, Backend: "etcd", Cluster: "c", Key: "leases"},
		{Kind: 0, Cluster: "c", Key: "leases"},
	}
	for _, s := range invalid {
		if got, err := s.Build(); err == nil {
			t.Errorf("Build(%+v) = %q, want error", s, got)
		}
	}
}

func TestParseSubjectRejectsForeignAndNonCanonical(t *testing.T) {
	invalid := []string{
		"",
		"conductor",
		"other.push.c.leases",
		"conductor.push.c",
		"conductor.push.c.leases.extra",
		"conductor.req.kube.c",
		"conductor.req.etcd.c.leases",
		"conductor.watch.c.leases",
		"conductor.push.c.*",
		"conductor.push.*.leases",
		"conductor.push.a%2eb.leases", // lower-case hex
		"conductor.push.a%61.leases",  // escape of a byte that needs none
		"conductor.push.a%2.leases",   // truncated escape
		"conductor.push.a%ZZ.leases",  // not hex
		"conductor.push.a b.leases",   // raw whitespace
		"conductor.push.é.leases",     // raw non-ASCII
	}
	for _, s := range invalid {
		if got, err := bus.ParseSubject(s); err == nil {
			t.Errorf("ParseSubject(%q) = %+v, want error", s, got)
		}
	}
}

func TestEscapeTokenExamples(t *testing.T) {
	cases := map[string]string{
		"cluster1":       "cluster1",
		"a.b":            "a%2Eb",
		"*":              "%2A",
		">":              "%3E",
		"100%":           "100%25",
		"a b\tc\n":       "a%20b%09c%0A",
		"é":              "%C3%A9",
		"%2E":            "%252E",
		"x\x00\x7f":      "x%00%7F",
		"UPPER_case~$@!": "UPPER_case~$@!",
	}
	for in, want := range cases {
		if got := bus.EscapeToken(in); got != want {
			t.Errorf("EscapeToken(%q) = %q, want %q", in, got, want)
		}
		back, err := bus.UnescapeToken(want)
		if err != nil || back != in {
			t.Errorf("UnescapeToken(%q) = %q, %v, want %q", want, back, err, in)
		}
	}
}

// FuzzClusterToken checks, for arbitrary cluster names, that escaping is reversible and
// yields one token of a subject the real NATS server accepts as a literal subject.
func FuzzClusterToken(f *testing.F) {
	for _, seed := range []string{"cluster1", "a.b.c", "*", ">", "%", "%2E", " x ", "\r\n", "日本", "\xff\xfe", "a..b"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cluster string) {
		if cluster == "" {
			return
		}
		token := bus.EscapeToken(cluster)
		back, err := bus.UnescapeToken(token)
		if err != nil || back != cluster {
			t.Fatalf("UnescapeToken(EscapeToken(%q)) = %q, %v", cluster, back, err)
		}
		subject, err := bus.PushSubject(cluster, "manifestbundles")
		if err != nil {
			t.Fatalf("PushSubject(%q): %v", cluster, err)
		}
		if !server.IsValidLiteralSubject(subject) {
			t.Fatalf("subject %q for cluster %q is not a valid literal NATS subject", subject, cluster)
		}
		if n := len(strings.Split(subject, ".")); n != 4 {
			t.Fatalf("subject %q for cluster %q has %d tokens, want 4", subject, cluster, n)
		}
		parsed, err := bus.ParseSubject(subject)
		if err != nil || parsed.Cluster != cluster {
			t.Fatalf("ParseSubject(%q) = %+v, %v, want cluster %q", subject, parsed, err, cluster)
		}
	})
}

// FuzzUnescapeToken checks that any accepted token is canonical: it is what EscapeToken
// makes of the name it decodes to.
func FuzzUnescapeToken(f *testing.F) {
	for _, seed := range []string{"a%2Eb", "a%2eb", "%25", "%", "%2", "a.b", "plain", "%C3%A9"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		name, err := bus.UnescapeToken(token)
		if err != nil {
			return
		}
		if again := bus.EscapeToken(name); again != token {
			t.Fatalf("UnescapeToken(%q) = %q, but EscapeToken gives %q back", token, name, again)
		}
	})
}
