//go:build chaos

package chaos

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// partition cuts n4 and n5 off for 20 s. Meanwhile a key is written on
// both sides of the cut from the same context: n5, alone, takes it with
// W=1; after the heal both values must be siblings on every replica.
func (s *suite) partition(t *testing.T) {
	var split *splitWrite
	s.run(t, scenario{
		name: "partition", clients: allNodes, members: allNodes,
		fault: func(ctx context.Context, t *testing.T) (string, error) {
			var err error
			if split, err = s.prepareSplit(ctx, "n5"); err != nil {
				return "", err
			}
			cut := []string{"n4", "n5"}
			start := time.Now()
			healed := false
			defer func() { // so that a failure here does not fail the next scenarios too
				if !healed {
					for _, n := range cut {
						s.c.heal(context.WithoutCancel(ctx), n)
					}
				}
			}()
			for _, n := range cut {
				if err := s.c.partition(ctx, n); err != nil {
					return "", err
				}
			}
			// The majority sees them fail, as a client sees them gone.
			if err := s.c.waitMembers(ctx, []string{"n1", "n2", "n3"}, statuses(cut, "failed")); err != nil {
				return "", err
			}
			if err := split.write(ctx, s); err != nil {
				return "", err
			}
			if err := sleep(ctx, partitionHold-time.Since(start)); err != nil {
				return "", err
			}
			healed = true
			for _, n := range cut {
				if err := s.c.heal(ctx, n); err != nil {
					return "", err
				}
			}
			held := time.Since(start)
			if err := s.c.waitHealthy(ctx, cut...); err != nil {
				return "", err
			}
			if err := s.c.waitMembers(ctx, allNodes, statuses(allNodes, "alive")); err != nil {
				return "", err
			}
			return fmt.Sprintf("n4 and n5 cut off the network for %.1f s; one key written on both sides", held.Seconds()), nil
		},
	})
	if split != nil && !t.Failed() {
		if err := split.waitChecked(s.ctx, s); err != nil {
			t.Errorf("G4 across a partition: %v", err)
		} else {
			t.Logf("the key written on both sides of the cut holds both values as siblings on all of %v", split.replicas)
		}
	}
}

// splitWrite is one key written concurrently on both sides of a partition.
type splitWrite struct {
	key, context string
	minority     string // the cut-off node that takes one of the writes
	replicas     []string
}

// prepareSplit writes a key that minority replicates and returns its context.
func (s *suite) prepareSplit(ctx context.Context, minority string) (*splitWrite, error) {
	for i := range 1000 {
		key := fmt.Sprintf("split-%d", i)
		var r struct {
			List []string `json:"preference_list"`
		}
		if err := s.c.getJSON(ctx, "n1", "/cluster/ring?key="+url.QueryEscape(key), &r); err != nil {
			return nil, err
		}
		if !slices.Contains(r.List, minority) {
			continue
		}
		status, body, hdr, err := s.put(ctx, "n1", key, "before the cut", "")
		if err != nil || status != http.StatusNoContent {
			return nil, fmt.Errorf("PUT %s: %d %s %v", key, status, body, err)
		}
		return &splitWrite{key: key, context: hdr.Get("X-Causal-Context"), minority: minority, replicas: r.List}, nil
	}
	return nil, fmt.Errorf("no key replicated on %s", minority)
}

// write sends "majority" through n1 and "minority" through the cut-off
// node itself (docker exec: the host cannot reach it), both with the
// context read before the cut.
func (w *splitWrite) write(ctx context.Context, s *suite) error {
	status, body, _, err := s.put(ctx, "n1", w.key, "majority", w.context)
	if err != nil || status != http.StatusNoContent {
		return fmt.Errorf("majority write: %d %s %v", status, body, err)
	}
	id, err := s.c.container(ctx, w.minority)
	if err != nil {
		return err
	}
	_, err = s.c.docker(ctx, "exec", "-e", "DYNKV_CA_CERT=/secure/ca.crt", "-e", "DYNKV_TOKEN="+s.c.token,
		id, "/dynkv", "put", "--endpoints", s.c.scheme+"://127.0.0.1:8080",
		"--w", "1", "--timeout", "20s", "--context", w.context, w.key, "minority")
	if err != nil {
		return fmt.Errorf("minority write on %s: %w", w.minority, err)
	}
	return nil
}

// waitChecked retries check within the convergence bound of one key.
func (w *splitWrite) waitChecked(ctx context.Context, s *suite) error {
	deadline := time.Now().Add(convergeBound(1))
	for {
		err := w.check(ctx, s)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
}

// check: every replica holds both writes as siblings, and a read returns both.
func (w *splitWrite) check(ctx context.Context, s *suite) error {
	for _, n := range w.replicas {
		var l struct {
			Siblings []struct {
				Value   string `json:"value"`
				Deleted bool   `json:"deleted"`
			} `json:"siblings"`
		}
		if err := s.c.getJSON(ctx, n, "/admin/local/"+url.PathEscape(w.key), &l); err != nil {
			return err
		}
		var values []string
		for _, sib := range l.Siblings {
			v, _ := base64.StdEncoding.DecodeString(sib.Value)
			if !sib.Deleted {
				values = append(values, string(v))
			}
		}
		slices.Sort(values)
		if !slices.Equal(values, []string{"majority", "minority"}) {
			return fmt.Errorf("%s holds %q of %s, want the siblings majority and minority", n, values, w.key)
		}
	}
	status, body, err := s.c.do(ctx, http.MethodGet, s.c.url("n2")+"/kv/"+url.PathEscape(w.key), nil, http.Header{"Accept": {"application/json"}})
	if err != nil || status != http.StatusMultipleChoices {
		return fmt.Errorf("GET %s: %d %s %v; want 300 with two siblings", w.key, status, body, err)
	}
	return nil
}

func (s *suite) put(ctx context.Context, node, key, value, causal string) (int, string, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.c.url(node)+"/kv/"+url.PathEscape(key), strings.NewReader(value))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Content-Type", "text/plain")
	if causal != "" {
		req.Header.Set("X-Causal-Context", causal)
	}
	resp, err := s.c.http.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String(), resp.Header, nil
}
