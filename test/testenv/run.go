package testenv

import (
	"fmt"
	"io"
	"os"
	"testing"
)

// Run runs the tests of m, then closes every shared part, and returns the exit
// code for os.Exit. Use it in TestMain so shared parts stop even when tests fail.
func Run(m *testing.M, parts ...io.Closer) int {
	code := m.Run()
	for _, p := range parts {
		if err := p.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stopping a shared part: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}
