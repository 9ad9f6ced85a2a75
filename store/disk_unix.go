//go:build unix

package store

import (
	"fmt"
	"syscall"
)

// fsSpace is the space available to this process (f_bavail: root's
// reserved blocks are not counted, since badger may not run as root) and
// the size of the file system holding dir.
func fsSpace(dir string) (free, total int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	// Bsize is int64 on Linux and uint32 on the BSDs: convert both.
	bsize := int64(st.Bsize)
	return int64(st.Bavail) * bsize, int64(st.Blocks) * bsize, nil
}
