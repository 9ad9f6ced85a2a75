package client_test

import (
	"io"
	"os"
	"testing"
)

// TestExamples runs the examples, which have no Output lines because they
// need a cluster, against the shared one, as a reader would run them
// against dynkv dev, and checks what they print.
func TestExamples(t *testing.T) {
	saved := endpoints
	endpoints = shared.endpoints
	t.Cleanup(func() { endpoints = saved })
	for _, ex := range []struct {
		name string
		run  func()
		want string
	}{
		{"Example", Example, "hello (text/plain), served by n1, context present: true\n"},
		{"ExampleClient_Get", ExampleClient_Get, "siblings: [pizza sushi]\nresolved: pizza and sushi (1 sibling)\n"},
		{"ExampleClient_Put", ExampleClient_Put, "final, 1 sibling\n"},
		{"ExampleClient_Delete", ExampleClient_Delete,
			"not found: true - tombstone context: true\nclient: get \"never-written\": not_found: key not found (from n1)\n"},
		{"ExampleClient_Update", ExampleClient_Update, "[\"dynamo\",\"go\"]\n"},
		{"ExampleKeepContentType", ExampleKeepContentType, "kept: text/html\nwithout an option: application/octet-stream\n"},
		{"ExampleAPIError", ExampleAPIError, "400 bad_quorum\n"},
		{"ExampleClient_Members", ExampleClient_Members, "n1 alive\nn2 alive\nn3 alive\n"},
		{"ExampleClient_Bucket", ExampleClient_Bucket, "sessions: default TTL 1h0m0s\nalice, expires: true\nin the default bucket: true\n"},
	} {
		if got := stdoutOf(t, ex.run); got != ex.want {
			t.Errorf("%s printed\n%s\nwant\n%s", ex.name, got, ex.want)
		}
	}
}

// stdoutOf runs f and returns what it wrote to os.Stdout. No parallel test
// runs meanwhile: TestExamples is not parallel.
func stdoutOf(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	func() {
		defer func() { os.Stdout = saved; w.Close() }()
		f()
	}()
	return <-out
}
