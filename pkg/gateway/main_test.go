package gateway_test

import (
	"os"
	"testing"

	"github.com/cloudevents-conductor/conductor/test/testenv"
)

// kube is the kube-apiserver of the authentication and authorization tests; it starts on first use.
var kube testenv.SharedKube

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &kube)) }
