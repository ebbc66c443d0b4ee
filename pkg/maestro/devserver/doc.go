// Package devserver is a DEVELOPMENT STAND-IN for the consumer part of Maestro's REST API.
// It is not Maestro: it exists because a real Maestro server cannot be built as a Go module
// dependency, and tests and `make run` still need something that answers like one.
//
// It serves, under /api/maestro, exactly what maestro.md §3.1 records of the real server:
// the API root, the error catalog and the consumers collection (POST, list with
// page/size/search/orderBy, GET/PATCH/DELETE by id), with Maestro's status codes, error
// documents ({"id","kind":"Error","href","code":"maestro-N","reason","operation_id"}) and
// JSON keys. It stores consumers in the real `consumers` table of Maestro's PostgreSQL
// schema, so the `fk_resources_consumers` foreign key refuses to delete a consumer that
// resources still reference, and Maestro (or a conductor) sharing the database sees the
// same rows.
//
// Not served: resource bundles, the `fields` list parameter, JSONB search expressions
// (`->>`, `@>`), CORS and gzip. The database schema must already exist.
package devserver
