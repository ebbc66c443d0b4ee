// Package maestrotest writes to a Maestro database the way a Maestro server does when a source
// client creates, updates or deletes a resource bundle (maestro.md §2.3 steps 1-3): separate
// autocommitted statements for the resources row, the events row and the NOTIFY, under the same
// advisory locks. Tests, the e2e suite and the local stack use it to play the source side without
// a Maestro binary; the rows it writes match those in shared/reference/maestro-rows.
package maestrotest
