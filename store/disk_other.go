//go:build !unix

package store

import "errors"

// fsSpace is unknown here: the floor then refuses nothing.
func fsSpace(string) (free, total int64, err error) {
	return 0, 0, errors.New("free disk space is not known on this platform")
}
