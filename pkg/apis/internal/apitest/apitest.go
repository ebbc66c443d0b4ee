package apitest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
)

// WirePayload returns a recorded CloudEvent payload from pkg/cloudevents/testdata/wire, e.g.
// "agent-cluster-status-update-request".
func WirePayload(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(testdataDir(tb), "..", "..", "cloudevents", "testdata", "wire", name+".data.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// testdataDir locates pkg/apis/testdata from this file, so tests in any package find it.
func testdataDir(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("cannot locate the apitest package")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata")
}

// AssertSameJSON fails tb unless got and want hold the same JSON value. Key order and whitespace
// do not matter; a missing, added or changed field does.
func AssertSameJSON(tb testing.TB, got, want []byte) {
	tb.Helper()
	var gotValue, wantValue any
	if err := json.Unmarshal(got, &gotValue); err != nil {
		tb.Fatalf("decode %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &wantValue); err != nil {
		tb.Fatalf("decode %s: %v", want, err)
	}
	if !reflect.DeepEqual(gotValue, wantValue) {
		tb.Errorf("JSON differs\n got: %s\nwant: %s", compact(tb, got), compact(tb, want))
	}
}

// AssertRoundTrip decodes data into into, encodes it again and fails tb unless the result is the
// same JSON as data.
func AssertRoundTrip(tb testing.TB, data []byte, into any) {
	tb.Helper()
	if err := json.Unmarshal(data, into); err != nil {
		tb.Fatalf("decode into %T: %v", into, err)
	}
	encoded, err := json.Marshal(into)
	if err != nil {
		tb.Fatalf("encode %T: %v", into, err)
	}
	AssertSameJSON(tb, encoded, data)
}

func compact(tb testing.TB, data []byte) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return string(data)
	}
	return buf.String()
}
