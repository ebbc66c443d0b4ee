// Package maestro is a small client for the consumer part of Maestro's REST API
// (maestro.md §3.1): find a consumer by name, create it, replace its labels and
// delete it by id.
//
// Every failed call that Maestro answered comes back as an [*Error] holding the
// HTTP status and the decoded `maestro-N` error body, so callers can tell a
// missing consumer ([IsNotFound]), a duplicate name ([IsConflict]), a consumer
// still referenced by resources ([IsForbidden]) and a name Maestro will never
// accept ([IsInvalid]) from a Maestro that is down or failing, which is worth
// retrying.
//
// Maestro looks consumers up by id only; names are found through the list
// endpoint's `search` parameter, which is what [Client.FindByName] does.
package maestro
