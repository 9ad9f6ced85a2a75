package main

import (
	"io"
	"log/slog"
)

// logOptions are the --log-level and --log-format flags every server
// command takes.
type logOptions struct {
	level  string
	format string
}

func (o *logOptions) register(f *flags, defaultLevel string) {
	f.choice(&o.level, "log-level", defaultLevel, []string{"debug", "info", "warn", "error"},
		"least severe `level` logged to stderr: debug, info, warn or error")
	f.choice(&o.format, "log-format", "text", []string{"text", "json"},
		"log line `format`: text or json")
	f.share("log-level", "log-format")
}

// logger builds the slog logger the flags describe, writing to w.
func (o logOptions) logger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.level)); err != nil {
		level = slog.LevelInfo // the flag only admits valid levels
	}
	opts := &slog.HandlerOptions{Level: level}
	if o.format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
