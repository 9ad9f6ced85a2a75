package ring

import (
	"fmt"
	"strings"
	"testing"
)

// The tests in this file measure placement quality at the defaults
// (P=256, N=3). Everything is deterministic (fixed member names), so the
// bounds are margins around logged figures, not statistical guesses.

func TestBalance(t *testing.T) {
	cfg := DefaultConfig()
	for _, k := range []int{3, 4, 5, 10} {
		b := measureBalance(mustNew(t, names(k), cfg))
		ownIdeal := float64(cfg.Partitions) / float64(k)
		slotIdeal := float64(cfg.Partitions*min(cfg.N, k)) / float64(k)
		t.Logf("%2d members: owned %d..%d (ideal %.1f, cap %d), replica slots %d..%d (ideal %.1f)",
			k, b.ownMin, b.ownMax, ownIdeal, b.ownCap, b.slotMin, b.slotMax, slotIdeal)
		if b.ownMax > b.ownCap {
			t.Errorf("%d members: a member owns %d partitions, above the Load cap %d", k, b.ownMax, b.ownCap)
		}
		if float64(b.ownMin) < 0.5*ownIdeal {
			t.Errorf("%d members: a member owns only %d partitions (ideal %.1f)", k, b.ownMin, ownIdeal)
		}
		// Replica slots are not capped by Load: a member's slots also depend
		// on which owners follow its partitions. 1.5× the ideal is the
		// bound; 10 members measure 0.69×..1.30×.
		if float64(b.slotMin) < 0.5*slotIdeal || float64(b.slotMax) > 1.5*slotIdeal {
			t.Errorf("%d members: replica slots %d..%d, ideal %.1f", k, b.slotMin, b.slotMax, slotIdeal)
		}
	}
}

// TestMovement: when a member joins (5→6) or leaves (6→5), the share of
// replica slots that must be filled with copied data stays close to the
// minimum, the share of the member that joined or left (1/6 on average).
func TestMovement(t *testing.T) {
	cfg := DefaultConfig()
	c := measureChurn(t, ours, 5, cfg)
	cn := measureChurn(t, closestN, 5, cfg)
	t.Logf("5↔6 members, replica slots moved, mean (max) over the 6 choices of the member: walk %s, GetClosestN %s, ideal %s",
		pct(c.slotsMean, c.slotsMax), pct(cn.slotsMean, cn.slotsMax), pct1(c.idealSlots))
	t.Logf("5↔6 members, partitions whose replica set changed: walk %s, GetClosestN %s, minimum about %s",
		pct1(c.setsMean), pct1(cn.setsMean), pct1(c.idealSets))
	if c.slotsMax >= 0.30 {
		t.Errorf("a join or leave moved %.1f%% of replica slots, want < 30%%", 100*c.slotsMax)
	}
	if c.slotsMean < c.idealSlots-1e-9 {
		t.Errorf("moved %.1f%% of slots, below the %.1f%% the odd member holds: metric broken", 100*c.slotsMean, 100*c.idealSlots)
	}

	// The exact scenario: n6 joins n1..n5; every slot it gets is new, and
	// few other slots move.
	before := ours.walks(t, names(5), cfg).prefix(cfg.N)
	after := ours.walks(t, names(6), cfg).prefix(cfg.N)
	var toNew, toOld int
	for p := range after {
		for _, m := range after[p] {
			if !contains(before[p], m) {
				if m == "n6" {
					toNew++
				} else {
					toOld++
				}
			}
		}
	}
	t.Logf("n6 joins n1..n5: %d slots to n6, %d slots moved between old members, of %d", toNew, toOld, cfg.Partitions*cfg.N)
	if toOld > toNew/2 {
		t.Errorf("join moved %d slots between old members, %d to the new one", toOld, toNew)
	}
}

// TestFailureSpread: when one member fails, the first fallbacks standing in
// for it (sloppy quorum) are spread over several survivors.
func TestFailureSpread(t *testing.T) {
	cfg := DefaultConfig()
	for _, k := range []int{5, 6, 10} {
		ms := names(k)
		walks := ours.walks(t, ms, cfg)
		for _, f := range ms {
			all := measureSpread(walks, cfg.N, cfg.N, f)
			owned := measureSpread(walks, cfg.N, 1, f)
			if all.survivors < 2 || all.maxShare > 0.5 || owned.survivors < 2 {
				t.Errorf("%d members, %s fails: stand-ins for its %d partitions on %d survivors (max share %.0f%%), for the %d it owns on %d",
					k, f, all.parts, all.survivors, 100*all.maxShare, owned.parts, owned.survivors)
			}
		}
		w := worstSpread(walks, ms, cfg.N, cfg.N)
		t.Logf("%2d members, worst failure: %d partitions' stand-ins on %d of %d survivors, max %.0f%% on one",
			k, w.parts, w.survivors, k-1, 100*w.maxShare)
	}
}

// TestCompareWithGetClosestN measures consistent's GetClosestN replicas
// against the walk, and checks the reasons we do not use it.
func TestCompareWithGetClosestN(t *testing.T) {
	cfg := DefaultConfig()
	for _, k := range []int{5, 10} {
		ms := names(k)
		for _, s := range []strategy{ours, closestN} {
			walks := s.walks(t, ms, cfg)
			c := measureChurn(t, s, k, cfg)
			all, owned := worstSpread(walks, ms, cfg.N, cfg.N), worstSpread(walks, ms, cfg.N, 1)
			t.Logf("%2d↔%d members %-11s: slots moved %s (ideal %s); replica sets changed %s (minimum about %s); "+
				"worst failure: stand-ins on %d survivors (max %.0f%%), for its owned partitions on %d (max %.0f%%); fewest replica partners %d",
				k, k+1, s.name, pct(c.slotsMean, c.slotsMax), pct1(c.idealSlots), pct1(c.setsMean), pct1(c.idealSets),
				all.survivors, 100*all.maxShare, owned.survivors, 100*owned.maxShare, partners(walks.prefix(cfg.N), ms))
		}
		// The notes' claim: GetClosestN gives every partition of one owner
		// the same replicas, so a failed owner's load lands on one node.
		if w := worstSpread(closestN.walks(t, ms, cfg), ms, cfg.N, 1); w.survivors != 1 {
			t.Errorf("%d members: GetClosestN spread a failed owner over %d survivors; the notes say 1", k, w.survivors)
		}
		if w := worstSpread(ours.walks(t, ms, cfg), ms, cfg.N, 1); w.survivors < 2 {
			t.Errorf("%d members: walk put a failed owner's load on %d survivor", k, w.survivors)
		}
		if o, c := measureChurn(t, ours, k, cfg), measureChurn(t, closestN, k, cfg); o.slotsMean > c.slotsMean {
			t.Errorf("%d members: walk moves more than GetClosestN: %+v vs %+v", k, o, c)
		}
	}
}

// TestReportFigures logs the table in docs/BENCHMARKS.md (run with -v).
func TestReportFigures(t *testing.T) {
	cfg := DefaultConfig()
	var sb strings.Builder
	fmt.Fprintf(&sb, "P=%d N=%d VirtualNodes=%d Load=%g, members n1..nk. Churn k↔k+1: a member joins k or leaves k+1 (the same figure, see churn), mean (max) over which member.\n\n",
		cfg.Partitions, cfg.N, cfg.VirtualNodes, cfg.Load)
	sb.WriteString("| nodes k | partitions owned min–max (ideal, cap) | replica slots min–max (ideal) | slots moved k↔k+1: walk / GetClosestN / ideal | replica sets changed k↔k+1: walk / GetClosestN / min | 1 node fails, worst case: first-fallback survivors, max share: walk / GetClosestN |\n")
	sb.WriteString("|---|---|---|---|---|---|\n")
	for _, k := range []int{3, 5, 10} {
		ms := names(k)
		b := measureBalance(mustNew(t, ms, cfg))
		o, c := measureChurn(t, ours, k, cfg), measureChurn(t, closestN, k, cfg)
		fail := "none (N = k)"
		if k > cfg.N {
			wo := worstSpread(ours.walks(t, ms, cfg), ms, cfg.N, cfg.N)
			wc := worstSpread(closestN.walks(t, ms, cfg), ms, cfg.N, cfg.N)
			fail = fmt.Sprintf("%d of %d, %.0f%% / %d of %d, %.0f%%", wo.survivors, k-1, 100*wo.maxShare, wc.survivors, k-1, 100*wc.maxShare)
		}
		fmt.Fprintf(&sb, "| %d | %d–%d (%.1f, %d) | %d–%d (%.1f) | %s / %s / %s | %s / %s / %s | %s |\n",
			k, b.ownMin, b.ownMax, float64(cfg.Partitions)/float64(k), b.ownCap,
			b.slotMin, b.slotMax, float64(cfg.Partitions*min(cfg.N, k))/float64(k),
			pct(o.slotsMean, o.slotsMax), pct(c.slotsMean, c.slotsMax), pct1(o.idealSlots),
			pct1(o.setsMean), pct1(c.setsMean), pct1(o.idealSets), fail)
	}
	t.Log("\n" + sb.String())
}

func pct(mean, maxV float64) string { return fmt.Sprintf("%.1f%% (%.1f%%)", 100*mean, 100*maxV) }
func pct1(v float64) string         { return fmt.Sprintf("%.1f%%", 100*v) }

func contains(l []string, m string) bool {
	for _, x := range l {
		if x == m {
			return true
		}
	}
	return false
}
