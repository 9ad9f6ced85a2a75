package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// slogAdapter turns badger's printf-style logger into slog records at the
// matching level, so badger's lines go wherever the node's logs go.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Errorf(f string, v ...any)   { a.log(slog.LevelError, f, v) }
func (a slogAdapter) Warningf(f string, v ...any) { a.log(slog.LevelWarn, f, v) }
func (a slogAdapter) Infof(f string, v ...any)    { a.log(slog.LevelInfo, f, v) }
func (a slogAdapter) Debugf(f string, v ...any)   { a.log(slog.LevelDebug, f, v) }

func (a slogAdapter) log(level slog.Level, format string, args []any) {
	ctx := context.Background()
	// badger's INFO lines are its internals (level tables on every close,
	// replay progress): an operator of dynkv wants them only when debugging.
	if level == slog.LevelInfo {
		level = slog.LevelDebug
	}
	// badger logs at DEBUG on hot paths; don't format what will be dropped.
	if !a.l.Enabled(ctx, level) {
		return
	}
	// badger's messages often end in "\n", which slog would keep verbatim.
	a.l.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)))
}
