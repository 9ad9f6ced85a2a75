package membership

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func alive(id, addr string) Member { return Member{ID: id, GossipAddr: addr, Status: StatusAlive} }

func recordedIDs(t *testing.T, path string) []string {
	t.Helper()
	rec, err := readMembersRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range rec.Members {
		ids = append(ids, m.ID)
	}
	return ids
}

// A node with no record (a new node) is ready at once; one whose record
// names other members is not until one of them is alive in its view, and
// stays ready after (latched) even if they fail.
func TestRejoinReadiness(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serf.snapshot.members")
	fresh := newRejoin(path, "n1", quietLog())
	if ok, why := fresh.Ready([]Member{alive("n1", "a1")}); !ok {
		t.Fatalf("a node with no record is not ready: %s", why)
	}
	if err := fresh.record([]Member{alive("n1", "a1"), alive("n2", "a2"), {ID: "n3", GossipAddr: "a3", Status: StatusFailed}}); err != nil {
		t.Fatal(err)
	}

	r := newRejoin(path, "n1", quietLog())
	if got := r.seeds(); !slices.Equal(got, []string{"a2", "a3"}) {
		t.Fatalf("seeds %v, want the recorded members' addresses", got)
	}
	ok, why := r.Ready([]Member{alive("n1", "a1"), {ID: "n2", Status: StatusSuspect}, alive("n9", "a9")})
	if ok || !strings.Contains(why, "rejoining") || !strings.Contains(why, "n2, n3") {
		t.Fatalf("ready=%v %q: alone (or with a stranger, or a suspect) must not be ready, naming n2 and n3", ok, why)
	}
	r.changed([]Member{alive("n1", "a1"), alive("n3", "a3")})
	if ok, _ := r.Ready(nil); !ok {
		t.Fatal("not ready after a recorded member was seen alive")
	}
	if ok, _ := r.Ready([]Member{alive("n1", "a1"), {ID: "n3", Status: StatusFailed}}); !ok {
		t.Fatal("readiness is latched: a member failing later must not undo it")
	}
}

// Until the node has rejoined, the record only grows (right after a start
// the node knows only itself, and a second crash must still find the
// cluster); after, it follows the view, so a member that left drops out.
func TestRejoinRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serf.snapshot.members")
	if err := writeMembersRecord(path, map[string]string{"n2": "a2", "n3": "a3"}); err != nil {
		t.Fatal(err)
	}
	r := newRejoin(path, "n1", quietLog())
	if err := r.record([]Member{alive("n1", "a1"), alive("n4", "a4")}); err != nil {
		t.Fatal(err)
	}
	if got := recordedIDs(t, path); !slices.Equal(got, []string{"n2", "n3", "n4"}) {
		t.Fatalf("before rejoining the record is %v, want n2 n3 n4", got)
	}
	view := []Member{alive("n1", "a1"), alive("n2", "a2"), {ID: "n3", Status: StatusLeft}, {ID: "n4", GossipAddr: "a4", Status: StatusFailed}}
	r.changed(view)
	if err := r.record(view); err != nil {
		t.Fatal(err)
	}
	if got := recordedIDs(t, path); !slices.Equal(got, []string{"n2", "n4"}) {
		t.Fatalf("after rejoining the record is %v, want n2 and the failed n4 (a left n3 dropped)", got)
	}
	if err := r.left(); err != nil {
		t.Fatal(err)
	}
	if err := r.record(view); err != nil {
		t.Fatal(err)
	}
	if got := recordedIDs(t, path); len(got) != 0 {
		t.Fatalf("after this node left the record is %v, want empty", got)
	}
	if ok, _ := newRejoin(path, "n1", quietLog()).Ready(nil); !ok {
		t.Fatal("a node that left must start as a new one, ready at once")
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left behind: %v", err)
	}
}

// A record that cannot be read is not taken to name nobody: the node waits
// for any other member instead of answering ready alone.
func TestRejoinDamagedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serf.snapshot.members")
	if err := os.WriteFile(path, []byte(`{"members":[{"id":"n2"`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRejoin(path, "n1", quietLog())
	if ok, why := r.Ready([]Member{alive("n1", "a1")}); ok || !strings.Contains(why, "unreadable") {
		t.Fatalf("ready=%v %q with a damaged record, want not ready saying why", ok, why)
	}
	if ok, _ := r.Ready([]Member{alive("n1", "a1"), alive("n7", "a7")}); !ok {
		t.Fatal("not ready with another member alive")
	}
}
