//go:build chaos

package chaos

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ringView is GET /cluster/ring.
type ringView struct {
	Partitions int      `json:"partitions"`
	N          int      `json:"n"`
	Members    []string `json:"members"`
	Lists      []struct {
		Partition int      `json:"partition"`
		List      []string `json:"preference_list"`
	} `json:"preference_lists"`
}

// localCopy is GET /admin/local/{key}: one node's own copy of a key.
type localCopy struct {
	Node     string `json:"node"`
	Found    bool   `json:"found"`
	Context  string `json:"context"`
	Siblings []struct {
		Dot     string `json:"dot"`
		Deleted bool   `json:"deleted"`
	} `json:"siblings"`
}

// state is what must be equal on every replica: the causal context (its
// encoding is canonical) and the dots of the siblings.
func (l localCopy) state() string {
	dots := make([]string, 0, len(l.Siblings))
	for _, s := range l.Siblings {
		d := s.Dot
		if s.Deleted {
			d += "(deleted)"
		}
		dots = append(dots, d)
	}
	slices.Sort(dots)
	return fmt.Sprintf("%v|%s|%s", l.Found, l.Context, strings.Join(dots, ","))
}

func (l localCopy) live() int {
	n := 0
	for _, s := range l.Siblings {
		if !s.Deleted {
			n++
		}
	}
	return n
}

// convergence is what waitConverged measured.
type convergence struct {
	Elapsed      time.Duration
	Keys         int
	Replicas     int // copies compared
	WithSiblings int // keys whose converged state has several live siblings
	Polls        int
}

// converged checks the cluster once. members are the nodes on the ring;
// it returns why the cluster has not converged yet ("" when it has), with
// the keys still differing.
type converger struct {
	c        *cluster
	members  []string // services expected on the ring, all alive
	keys     []string
	parts    map[string]int // key -> partition, fixed for the cluster's life
	partsMu  sync.Mutex
	viewFrom string
}

// waitConverged waits until, on the ring of members: every member is
// alive in every member's view and agrees on the ring; no member holds a
// hint or has a handoff to do; and every replica of every key holds the
// same state. It reports how long that took and fails past bound.
func (c *cluster) waitConverged(ctx context.Context, members, keys []string, bound time.Duration) (convergence, error) {
	start := time.Now()
	cv := &converger{c: c, members: members, keys: keys, parts: map[string]int{}, viewFrom: members[0]}
	res := convergence{Keys: len(keys)}
	pending := keys
	var why string
	for {
		res.Polls++
		var err error
		why, err = cv.cluster(ctx)
		if err == nil && why == "" {
			var diff []string
			var stats keyStats
			diff, stats, err = cv.keysDiffer(ctx, pending)
			switch {
			case err != nil:
			case len(diff) > 0:
				why = fmt.Sprintf("%d keys differ between replicas, such as %s", len(diff), diff[0])
				pending = diff
			case len(pending) < len(keys):
				// What converged key by key is confirmed all at once.
				pending = keys
				why = "confirming"
			default:
				res.Replicas, res.WithSiblings = stats.replicas, stats.siblings
				res.Elapsed = time.Since(start)
				return res, nil
			}
		}
		if err != nil {
			why = err.Error()
		}
		if time.Since(start) > bound && why != "confirming" {
			res.Elapsed = time.Since(start)
			return res, fmt.Errorf("not converged after %v (bound %v): %s", res.Elapsed.Round(time.Millisecond), bound, why)
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return res, fmt.Errorf("%w: %s", err, why)
		}
	}
}

// cluster checks membership, ring, hints and handoffs on every member.
func (cv *converger) cluster(ctx context.Context) (string, error) {
	c := cv.c
	want := slices.Sorted(slices.Values(cv.members))
	for _, svc := range cv.members {
		var ring ringView
		if err := c.getJSON(ctx, svc, "/cluster/ring", &ring); err != nil {
			return "", err
		}
		if got := slices.Sorted(slices.Values(ring.Members)); !slices.Equal(got, want) {
			return fmt.Sprintf("%s has ring members %v, want %v", svc, got, want), nil
		}
		var ms []member
		if err := c.getJSON(ctx, svc, "/cluster/members", &ms); err != nil {
			return "", err
		}
		for _, m := range ms {
			if slices.Contains(want, m.ID) && m.Status != "alive" {
				return fmt.Sprintf("%s sees %s %s", svc, m.ID, m.Status), nil
			}
		}
		var ho struct {
			Handoffs []any `json:"handoffs"`
		}
		if err := c.getJSON(ctx, svc, "/cluster/handoffs", &ho); err != nil {
			return "", err
		}
		if len(ho.Handoffs) > 0 {
			return fmt.Sprintf("%s has %d partitions to hand off", svc, len(ho.Handoffs)), nil
		}
		hints, err := c.hintsPending(ctx, svc)
		if err != nil {
			return "", err
		}
		if hints > 0 {
			return fmt.Sprintf("%s holds %d hints", svc, hints), nil
		}
	}
	return "", nil
}

// hintsPending sums dynkv_hints_pending in the node's /metrics.
func (c *cluster) hintsPending(ctx context.Context, svc string) (int, error) {
	status, body, err := c.get(ctx, svc, "/metrics")
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics on %s: %d", svc, status)
	}
	total := 0.0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "dynkv_hints_pending") {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics of %s: %q", svc, line)
		}
		total += v
	}
	return int(total), sc.Err()
}

type keyStats struct{ replicas, siblings int }

// keysDiffer returns the keys whose replicas (on the current ring) do not
// all hold the same state.
func (cv *converger) keysDiffer(ctx context.Context, keys []string) ([]string, keyStats, error) {
	var ring ringView
	if err := cv.c.getJSON(ctx, cv.viewFrom, "/cluster/ring", &ring); err != nil {
		return nil, keyStats{}, err
	}
	lists := map[int][]string{}
	for _, l := range ring.Lists {
		lists[l.Partition] = l.List
	}
	var (
		mu    sync.Mutex
		diff  []string
		stats keyStats
		first error
		next  = make(chan string)
		wg    sync.WaitGroup
	)
	for range 32 {
		wg.Go(func() {
			for key := range next {
				same, n, sibs, err := cv.keySame(ctx, key, lists)
				mu.Lock()
				switch {
				case err != nil:
					if first == nil {
						first = err
					}
				case !same:
					diff = append(diff, key)
				default:
					stats.replicas += n
					if sibs {
						stats.siblings++
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, k := range keys {
		next <- k
	}
	close(next)
	wg.Wait()
	slices.Sort(diff)
	return diff, stats, first
}

// keySame compares the key's copies on its preference list.
func (cv *converger) keySame(ctx context.Context, key string, lists map[int][]string) (same bool, replicas int, siblings bool, err error) {
	part, err := cv.partition(ctx, key)
	if err != nil {
		return false, 0, false, err
	}
	list := lists[part]
	if len(list) == 0 {
		return false, 0, false, fmt.Errorf("partition %d of %s has no preference list", part, key)
	}
	var first string
	for i, node := range list {
		var l localCopy
		if err := cv.c.getJSON(ctx, node, "/admin/local/"+url.PathEscape(key), &l); err != nil {
			return false, 0, false, err
		}
		if i == 0 {
			first = l.state()
			siblings = l.live() > 1
		} else if l.state() != first {
			return false, 0, false, nil
		}
	}
	return true, len(list), siblings, nil
}

// partition asks the ring once per key: the partition of a key never
// changes.
func (cv *converger) partition(ctx context.Context, key string) (int, error) {
	cv.partsMu.Lock()
	p, ok := cv.parts[key]
	cv.partsMu.Unlock()
	if ok {
		return p, nil
	}
	var r struct {
		Partition int `json:"partition"`
	}
	if err := cv.c.getJSON(ctx, cv.viewFrom, "/cluster/ring?key="+url.QueryEscape(key), &r); err != nil {
		return 0, err
	}
	cv.partsMu.Lock()
	cv.parts[key] = r.Partition
	cv.partsMu.Unlock()
	return r.Partition, nil
}
