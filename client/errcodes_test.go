package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestErrorCodes checks that every error code of the API maps to its
// sentinel and that the APIError carries the detail.
func TestErrorCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		code   string
		want   error
	}{
		{400, CodeBadKey, ErrBadRequest},
		{400, CodeBadQuorum, ErrBadRequest},
		{400, CodeBadContext, ErrBadRequest},
		{400, CodeBadRequest, ErrBadRequest},
		{404, CodeNotFound, ErrNotFound},
		{408, CodeRequestTimeout, ErrTimeout},
		{409, CodeTooManySiblings, ErrTooManySiblings},
		{413, CodeValueTooLarge, ErrValueTooLarge},
		{503, CodeQuorumUnavailable, ErrQuorumUnavailable},
		{503, CodeShuttingDown, ErrShuttingDown},
		{504, CodeTimeout, ErrTimeout},
		{500, CodeInternal, ErrInternal},
		{401, CodeUnauthenticated, ErrUnauthenticated},
		{403, CodeForbidden, ErrForbidden},
	}
	sentinels := []error{ErrNotFound, ErrBadRequest, ErrValueTooLarge, ErrTooManySiblings,
		ErrQuorumUnavailable, ErrTimeout, ErrShuttingDown, ErrInternal, ErrUnavailable, ErrUnauthenticated, ErrForbidden}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			f := newFakeNode(t, apiError(tc.status, tc.code, `,"acks":1,"required":2`))
			c := newTestClient(t, []string{f.URL}, WithMaxAttempts(2))
			_, err := c.Put(context.Background(), "k", []byte("v"), CausalContext{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Put: %v; want errors.Is %v", err, tc.want)
			}
			for _, s := range sentinels {
				if s != tc.want && errors.Is(err, s) {
					t.Errorf("error %v also matches %v", err, s)
				}
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("%v is not an *APIError", err)
			}
			if ae.Status != tc.status || ae.Code != tc.code || ae.Node != "fake" || ae.Acks != 1 || ae.Required != 2 ||
				ae.Message != "scripted "+tc.code || ae.Endpoint != f.URL {
				t.Errorf("APIError %+v", *ae)
			}
			if !strings.Contains(err.Error(), `put "k"`) || !strings.Contains(err.Error(), tc.code) {
				t.Errorf("message %q does not name the operation, key and code", err)
			}
		})
	}
}

// TestErrorNotJSON checks an error answer that is not dynkv's (a proxy's
// page) still maps by status.
func TestErrorNotJSON(t *testing.T) {
	t.Parallel()
	f := newFakeNode(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream says no", http.StatusGatewayTimeout)
	})
	c := newTestClient(t, []string{f.URL}, WithMaxAttempts(1))
	_, err := c.Get(context.Background(), "k")
	var ae *APIError
	if !errors.Is(err, ErrTimeout) || !errors.As(err, &ae) || !strings.Contains(ae.Message, "upstream says no") {
		t.Fatalf("got %v", err)
	}
}
