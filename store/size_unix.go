//go:build unix

package store

import (
	"io/fs"
	"syscall"
)

// diskUsage is the space fi occupies on disk (sparse files count only
// their allocated blocks).
func diskUsage(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512 // st_blocks is in 512-byte units by POSIX
	}
	return fi.Size()
}
