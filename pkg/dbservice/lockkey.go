package dbservice

import "hash/fnv"

// Advisory lock types, hashed into the second half of Maestro's two-int advisory lock key.
const (
	LockTypeEvents         = "events"
	LockTypeResources      = "resources"
	LockTypeResourceStatus = "resource_status"
	LockTypeInstances      = "instances"
)

// LockKey returns the (int4, int4) key Maestro uses for pg_advisory_xact_lock and
// pg_try_advisory_xact_lock: FNV-1a-32 of the id and of the lock type, reinterpreted as signed.
// Using the same keys is what lets the db-service run beside Maestro servers safely.
func LockKey(id, lockType string) (int32, int32) {
	return fnv32a(id), fnv32a(lockType)
}

func fnv32a(s string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s)) // hash.Hash never returns an error
	return int32(h.Sum32())
}
