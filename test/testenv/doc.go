// Package testenv starts the real parts integration tests run against: an embedded
// NATS server, a throwaway PostgreSQL cluster holding Maestro's schema, and a
// kube-apiserver with etcd (controller-runtime envtest) holding the OCM CRDs.
//
// Each part starts in a few seconds at most and is torn down through t.Cleanup,
// also when the test fails. Nothing is ever skipped: a missing binary fails the
// test with a message saying how to get it, so a green CI run always means the
// tests ran.
//
// The expensive parts (PostgreSQL about 2 s, kube-apiserver about 4 s and 300 MB)
// can be shared by all tests of one package. Declare a [SharedPostgres] or
// [SharedKube] next to TestMain; each starts on first use and stops when the
// test binary ends:
//
//	var (
//		pg   testenv.SharedPostgres
//		kube testenv.SharedKube
//	)
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &pg, &kube)) }
//
//	func TestSomething(t *testing.T) {
//		db := pg.NewDatabase(t)      // fresh database with Maestro's schema
//		env := kube.Env(t)           // shared control plane
//		...
//	}
//
// Tests that stop or restart a part (fault tests) must start their own with
// [NATS], [StartPostgres] (with PostgresOptions.Local) or [StartKube], so they
// do not disturb the tests sharing one.
//
// Environment:
//   - DATABASE_URL: use this PostgreSQL server instead of a throwaway cluster; every
//     database the tests ask for is created on it with a random name and dropped after.
//   - TESTENV_PG_BINDIR: directory holding initdb, postgres and pg_dump; found on
//     PATH or under /usr/lib/postgresql/<version>/bin otherwise.
//   - KUBEBUILDER_ASSETS: directory holding kube-apiserver and etcd; defaults to
//     <module root>/bin/k8s, which `make test-tools` fills.
//   - KUBEBUILDER_CONTROLPLANE_START_TIMEOUT: defaults to 60s here (envtest's 20s is
//     too short on two busy cores).
package testenv
