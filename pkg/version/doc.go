// Package version holds the build version of the conductor binaries, set at link time with
// -ldflags "-X github.com/cloudevents-conductor/conductor/pkg/version.Version=<v>".
package version
