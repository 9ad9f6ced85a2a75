//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// kill: kill -9 of n2, down until declared failed, then started; then
// kill -9 of n3 and an immediate start, before anyone noticed.
func (s *suite) kill(t *testing.T) {
	s.run(t, scenario{
		name: "kill", clients: allNodes, members: allNodes,
		fault: func(ctx context.Context, t *testing.T) (string, error) {
			c := s.c
			start := time.Now()
			if err := c.kill(ctx, "n2"); err != nil {
				return "", err
			}
			if err := c.waitMembers(ctx, []string{"n1", "n3", "n4", "n5"}, map[string]string{"n2": "failed"}); err != nil {
				return "", err
			}
			detected := time.Since(start)
			if err := sleep(ctx, 10*time.Second-detected); err != nil {
				return "", err
			}
			if err := c.start(ctx, "n2"); err != nil {
				return "", err
			}
			down := time.Since(start)
			if err := c.waitHealthy(ctx, "n2"); err != nil {
				return "", err
			}
			if err := c.waitMembers(ctx, allNodes, statuses(allNodes, "alive")); err != nil {
				return "", err
			}
			start3 := time.Now()
			if err := c.kill(ctx, "n3"); err != nil {
				return "", err
			}
			if err := c.start(ctx, "n3"); err != nil {
				return "", err
			}
			down3 := time.Since(start3)
			if err := c.waitHealthy(ctx, "n3"); err != nil {
				return "", err
			}
			if err := c.waitMembers(ctx, allNodes, statuses(allNodes, "alive")); err != nil {
				return "", err
			}
			return fmt.Sprintf("kill -9 n2, declared failed after %.1f s, started after %.1f s; kill -9 n3 and started again %.1f s later",
				detected.Seconds(), down.Seconds(), down3.Seconds()), nil
		},
	})
}

// rollingRestart restarts every node in turn, each healthy and seen alive
// by all before the next.
func (s *suite) rollingRestart(t *testing.T) {
	s.run(t, scenario{
		name: "rolling_restart", clients: allNodes, members: allNodes, direct: true, noFailures: true,
		fault: func(ctx context.Context, t *testing.T) (string, error) {
			var took []string
			for _, n := range allNodes {
				start := time.Now()
				if err := s.c.restart(ctx, n); err != nil {
					return "", err
				}
				restarted := time.Since(start)
				if err := s.c.waitHealthy(ctx, n); err != nil {
					return "", err
				}
				if err := s.c.waitMembers(ctx, allNodes, statuses(allNodes, "alive")); err != nil {
					return "", err
				}
				took = append(took, fmt.Sprintf("%s %.1f/%.1f s", n, restarted.Seconds(), time.Since(start).Seconds()))
				if err := sleep(ctx, 2*time.Second); err != nil {
					return "", err
				}
			}
			return "docker restart of every node in turn (restarted/healthy): " + strings.Join(took, ", "), nil
		},
	})
}

// wipedVolume deletes n3's container and volume and recreates it empty.
func (s *suite) wipedVolume(t *testing.T) {
	s.run(t, scenario{
		name: "wiped_volume", clients: allNodes, members: allNodes, allKeys: true,
		fault: func(ctx context.Context, t *testing.T) (string, error) {
			start := time.Now()
			if err := s.c.wipe(ctx, "n3"); err != nil {
				return "", err
			}
			recreated := time.Since(start)
			if err := s.c.waitHealthy(ctx, "n3"); err != nil {
				return "", err
			}
			if err := s.c.waitMembers(ctx, allNodes, statuses(allNodes, "alive")); err != nil {
				return "", err
			}
			return fmt.Sprintf("n3's container and volume deleted and recreated empty in %.1f s", recreated.Seconds()), nil
		},
	})
}

// join starts a sixth node, which takes its share by handoff.
func (s *suite) join(t *testing.T) {
	six := append(slices.Clone(allNodes), "n6")
	s.run(t, scenario{
		name: "join", clients: allNodes, members: six, allKeys: true,
		fault: func(ctx context.Context, t *testing.T) (string, error) {
			start := time.Now()
			if err := s.c.up(ctx, "n6"); err != nil {
				return "", err
			}
			if err := s.c.waitHealthy(ctx, "n6"); err != nil {
				return "", err
			}
			if err := s.c.waitMembers(ctx, six, statuses(six, "alive")); err != nil {
				return "", err
			}
			return fmt.Sprintf("n6 started and joined in %.1f s", time.Since(start).Seconds()), nil
		},
	})
}

// leave makes n5 leave; once every node sees it left, its container is
// stopped, so the final checks find nothing on it.
func (s *suite) leave(t *testing.T) {
	rest := []string{"n1", "n2", "n3", "n4", "n6"}
	s.run(t, scenario{
		name: "leave", clients: rest, members: rest, allKeys: true,
		fault: func(ctx context.Context, t *testing.T) (string, error) {
			start := time.Now()
			status, body, err := s.c.do(ctx, http.MethodPost, s.c.url("n5")+"/cluster/leave", nil, nil)
			if err != nil || status != http.StatusAccepted {
				return "", fmt.Errorf("POST /cluster/leave on n5: %d %s %v", status, body, err)
			}
			if err := s.c.waitMembers(ctx, rest, map[string]string{"n5": "left"}); err != nil {
				return "", err
			}
			left := time.Since(start)
			if err := s.c.stop(ctx, "n5"); err != nil {
				return "", err
			}
			return fmt.Sprintf("n5 left (handoff done, status left) %.1f s after POST /cluster/leave; its container then stopped", left.Seconds()), nil
		},
	})
}
