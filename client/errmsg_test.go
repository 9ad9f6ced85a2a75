package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dynkv/dynkv/client"
)

// TestErrorsNameTheOperation: an SDK error names the SDK call ("client:
// get ..."), not a command line, and still matches its sentinel and
// APIError.
func TestErrorsNameTheOperation(t *testing.T) {
	ctx, c := testContext(t), newClient(t, shared.endpoints)
	_, err := c.Get(ctx, "errmsg/none")
	var apiErr *client.APIError
	if !errors.Is(err, client.ErrNotFound) || !errors.As(err, &apiErr) || !strings.HasPrefix(err.Error(), `client: get "errmsg/none": not_found`) {
		t.Errorf("get of a missing key: %v", err)
	}
	_, err = c.Get(ctx, "k", client.R(9))
	if !errors.Is(err, client.ErrBadRequest) || !strings.HasPrefix(err.Error(), `client: get "k": `) {
		t.Errorf("get with a bad quorum: %v", err)
	}
	if err := c.Remove(ctx, "n9"); !errors.Is(err, client.ErrUnknownNode) || !strings.HasPrefix(err.Error(), "client: remove n9: ") {
		t.Errorf("remove of an unknown node: %v", err)
	}
	if _, err := client.New(nil); err == nil || err.Error() != "client: no endpoints" {
		t.Errorf("New without endpoints: %v", err)
	}
}
