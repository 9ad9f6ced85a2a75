// Package buildinfo says which build of dynkv is running: its version, the
// commit it was built from and the Go release that compiled it. `dynkv
// version`, every node's GET /version and the dynkv_build_info metric all
// read Get, so the three always agree.
//
// `make build` and `make image` set version and commit with the linker:
//
//	go build -ldflags "-X github.com/dynkv/dynkv/internal/buildinfo.version=v1.2.3 \
//	    -X github.com/dynkv/dynkv/internal/buildinfo.commit=<sha>" ./cmd/dynkv
//
// A plain `go build` in a git checkout falls back to what the Go toolchain
// stamps into the binary (runtime/debug.ReadBuildInfo: the module version
// and vcs.revision); `go test` and `go run` of a file stamp neither, and
// the fields then read "devel" and "unknown".
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set at link time (-ldflags -X); empty in builds that did not.
var (
	version string
	commit  string
)

// Info is one build's identity.
type Info struct {
	// Version is the release (a git describe of it), "devel" otherwise.
	Version string `json:"version"`
	// Commit is the full revision built, with "-dirty" when the tree had
	// uncommitted changes (as the toolchain stamps it), or "unknown".
	Commit string `json:"commit"`
	// GoVersion is the Go release that compiled the binary.
	GoVersion string `json:"go_version"`
}

// Get returns the running binary's build identity.
func Get() Info {
	return resolve(version, commit, debug.ReadBuildInfo)
}

// resolve prefers the link-time values, then what the toolchain stamped.
func resolve(linkVersion, linkCommit string, read func() (*debug.BuildInfo, bool)) Info {
	info := Info{Version: linkVersion, Commit: linkCommit, GoVersion: runtime.Version()}
	bi, ok := read()
	if ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		if info.Commit == "" {
			info.Commit = stampedCommit(bi)
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

func stampedCommit(bi *debug.BuildInfo) string {
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}
