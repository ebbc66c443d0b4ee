package testenv_test

import (
	"os"
	"testing"

	"github.com/cloudevents-conductor/conductor/test/testenv"
)

// One cluster and one control plane for the whole package, as the package doc
// recommends; tests that stop a part start their own.
var (
	pg   testenv.SharedPostgres
	kube testenv.SharedKube
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &pg, &kube)) }
