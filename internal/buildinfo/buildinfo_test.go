package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	stamped := func(version string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: version}, Settings: settings}, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "abc123"}
	dirty := debug.BuildSetting{Key: "vcs.modified", Value: "true"}
	for _, tc := range []struct {
		name                 string
		linkVersion, linkRev string
		read                 func() (*debug.BuildInfo, bool)
		want                 Info
	}{
		{"link-time values win", "v1.0.0", "fff", stamped("v0.9.0", rev), Info{"v1.0.0", "fff", runtime.Version()}},
		{"toolchain stamps", "", "", stamped("v0.9.0", rev), Info{"v0.9.0", "abc123", runtime.Version()}},
		{"a dirty tree says so", "", "", stamped("(devel)", rev, dirty), Info{"devel", "abc123-dirty", runtime.Version()}},
		{"nothing known", "", "", none, Info{"devel", "unknown", runtime.Version()}},
		{"stamped without vcs", "", "", stamped(""), Info{"devel", "unknown", runtime.Version()}},
	} {
		if got := resolve(tc.linkVersion, tc.linkRev, tc.read); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
