package membership

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestSerfLogLevels: serf's levels carry over, except the warning about
// the shutdown without a Leave that dynkv makes on purpose, which is info.
func TestSerfLogLevels(t *testing.T) {
	var buf bytes.Buffer
	l := newSerfLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	l.Printf("[WARN] serf: Shutdown without a Leave")
	l.Printf("[INFO] serf: EventMemberJoin: n2 127.0.0.1")
	if buf.Len() != 0 {
		t.Errorf("logged at warn level: %q; want nothing", buf.String())
	}
	l.Printf("[WARN] memberlist: Refuting a suspect message (from: n2)")
	l.Printf("[ERR] serf: something broke")
	out := buf.String()
	if !strings.Contains(out, `level=WARN msg="memberlist: Refuting a suspect message (from: n2)"`) ||
		!strings.Contains(out, `level=ERROR msg="serf: something broke"`) {
		t.Errorf("real warnings and errors lost their level:\n%s", out)
	}
}
