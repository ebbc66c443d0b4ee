package version

import (
	"fmt"
	"runtime"
)

// Version is overwritten by the linker; "dev" marks a build outside the Makefile.
var Version = "dev"

// String is the one-line answer to --version.
func String(component string) string {
	return fmt.Sprintf("%s %s (%s, %s/%s)", component, Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
