package dbservice

import "testing"

func TestLockKeyMatchesMaestro(t *testing.T) {
	// Values from maestro.md §2.2, computed by Maestro's own lock factory.
	for lockType, want := range map[string]int32{
		LockTypeEvents:         316203908,
		LockTypeResources:      1893056498,
		LockTypeResourceStatus: -1890629248,
		LockTypeInstances:      105446707,
	} {
		if _, got := LockKey("any-id", lockType); got != want {
			t.Errorf("lock type %q: got %d, want %d", lockType, got, want)
		}
	}
	a, _ := LockKey("68ebf474-6709-48bb-b760-386181268064", LockTypeResources)
	b, _ := LockKey("68ebf474-6709-48bb-b760-386181268065", LockTypeResources)
	if a == b {
		t.Error("different ids must give different keys")
	}
}
