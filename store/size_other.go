//go:build !unix

package store

import "io/fs"

// diskUsage falls back to the apparent size where allocation is unknown.
func diskUsage(fi fs.FileInfo) int64 { return fi.Size() }
