// Package apitest has test helpers shared by the API packages: it reads the recorded reference
// payloads and checks that they survive a decode/encode round trip.
package apitest
