package coordinator

import (
	"errors"
	"testing"
)

func TestParseQuorum(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want int
		ok   bool
	}{
		{"one", 2, 1, true}, {"quorum", 2, 2, true}, {"all", 2, 2, true},
		{"quorum", 5, 3, true}, {"all", 5, 5, true}, {"2", 2, 2, true},
		{"3", 2, 0, false}, // above the bucket's N
		{"0", 3, 0, false}, {"-1", 3, 0, false}, {"most", 3, 0, false}, {"", 3, 0, false},
	} {
		got, err := ParseQuorum(tc.s, tc.n)
		if (err == nil) != tc.ok || got != tc.want || (err != nil && !errors.Is(err, ErrBadQuorum)) {
			t.Errorf("ParseQuorum(%q, %d) = %d, %v; want %d, ok %v", tc.s, tc.n, got, err, tc.want, tc.ok)
		}
	}
}

func TestQuorumForTheBucket(t *testing.T) {
	if q, err := quorumFor("write", 0, 2, 2); q != 2 || err != nil {
		t.Errorf("default: %d %v", q, err)
	}
	if _, err := quorumFor("write", 3, 2, 2); !errors.Is(err, ErrBadQuorum) {
		t.Errorf("w=3 with n=2: %v", err)
	}
}

// In an lww bucket the read answers the merge's last writer, and read
// repair brings every replica that answered to that one version, the
// replica that already holds exactly it excepted.
func TestReadTallyLWW(t *testing.T) {
	winner := stBC.LastWriterWins()
	if len(stBC.Siblings) != 2 || len(winner.Siblings) != 1 {
		t.Fatalf("fixture: %d siblings, lww %d", len(stBC.Siblings), len(winner.Siblings))
	}
	tally := NewReadTallyLWW(2)
	for _, id := range []string{"n0", "n1", "n2"} {
		tally.Asked(Source{ID: id})
	}
	tally.Reply(Source{ID: "n0"}, ReplyOK, stB, "")
	tally.Reply(Source{ID: "n1"}, ReplyOK, stC, "")
	tally.Reply(Source{ID: "n2"}, ReplyOK, winner, "")
	if !tally.Result().Equal(winner) {
		t.Fatalf("lww result %+v, want %+v", tally.Result(), winner)
	}
	merged, stale := tally.Repairs()
	if !merged.Equal(winner) || len(stale) != 2 || stale[0].ID != "n0" || stale[1].ID != "n1" {
		t.Fatalf("repairs: %+v stale %v", merged, stale)
	}
	sibs := NewReadTally(2)
	sibs.Reply(Source{ID: "n0"}, ReplyOK, stB, "")
	sibs.Reply(Source{ID: "n1"}, ReplyOK, stC, "")
	if !sibs.Result().Equal(stBC) {
		t.Fatalf("siblings result %+v, want both", sibs.Result())
	}
}
