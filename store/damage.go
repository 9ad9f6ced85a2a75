package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
)

// Damaged files. Badger, left to itself, opens a damaged directory as if
// it were merely missing data: without a MANIFEST it starts empty and
// deletes every table as unreferenced; with a truncated MANIFEST it
// deletes the tables the lost tail created; a table whose blocks are
// garbage opens and answers not-found (a failed block read ends the
// lookup as a miss); a truncated table panics in a goroutine of its own,
// which no recover reaches. So before badger sees a directory, checkDir
// verifies what badger would trust: the MANIFEST replays to its end, every
// table it names exists and passes its checksums, the key registry reads,
// and, after a clean close, every value-log file has the size it was left
// with (marker.go).

// ErrDamaged is wrapped by Open's error when a file of the database is
// missing, truncated or fails its checksum. The message names the file.
var ErrDamaged = errors.New("store: data directory damaged")

// damaged is ErrDamaged about one file of dir.
func damaged(dir, file, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrDamaged, filepath.Join(dir, file), fmt.Sprintf(format, args...))
}

// checkDir verifies dir before badger opens it; m is its marker (zero when
// there is none). A directory without a MANIFEST is new, unless the marker
// or badger's data files say a database was there.
func checkDir(dir string, m marker) error {
	if err := checkKeyRegistry(dir); err != nil {
		return err
	}
	mf, err := os.Open(filepath.Join(dir, badger.ManifestFilename))
	if errors.Is(err, os.ErrNotExist) {
		if m.exists || hasDataFiles(dir) {
			return damaged(dir, badger.ManifestFilename, "missing, so badger would open an empty database (and delete the tables as unreferenced)")
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: open %s: %w", mf.Name(), err)
	}
	defer mf.Close()
	manifest, end, err := badger.ReplayManifestFile(mf, 0, badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		return damaged(dir, badger.ManifestFilename, "%v", err)
	}
	if fi, err := mf.Stat(); err != nil {
		return fmt.Errorf("store: stat %s: %w", mf.Name(), err)
	} else if end < fi.Size() {
		return damaged(dir, badger.ManifestFilename, "only the first %d of its %d bytes are valid changes (truncated or garbled; badger would drop the tables the rest created)", end, fi.Size())
	}
	for id, tm := range manifest.Tables {
		if err := verifyTable(dir, id, tm); err != nil {
			return err
		}
	}
	return m.checkValueLogs(dir)
}

// hasDataFiles reports whether dir holds badger tables or value-log files.
func hasDataFiles(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); ext == ".sst" || ext == ".vlog" {
			return true
		}
	}
	return false
}

// checkKeyRegistry reads badger's key registry, if there is one, as
// badger will: a missing one is recreated harmlessly (dynkv does not
// encrypt, so it holds no keys), a damaged one fails badger's Open with a
// message that does not name the file.
func checkKeyRegistry(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, badger.KeyRegistryFileName)); err != nil {
		return nil
	}
	if _, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: dir, ReadOnly: true}); err != nil {
		return damaged(dir, badger.KeyRegistryFileName, "%v", err)
	}
	return nil
}

// verifyTable opens table id read-only and checks every block's checksum,
// as badger's OnTableRead mode would, but in this goroutine and with
// badger's panics (a truncated table's index offsets point outside the
// file) turned into an error.
func verifyTable(dir string, id uint64, tm badger.TableManifest) (err error) {
	path := table.NewFilename(id, dir)
	name := filepath.Base(path)
	if _, err := os.Stat(path); err != nil {
		return damaged(dir, name, "named by the MANIFEST but %v", errors.Unwrap(err))
	}
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil {
		return damaged(dir, name, "cannot be mapped: %v", err)
	}
	defer func() {
		if p := recover(); p != nil {
			mf.Close(-1)
			// VerifyChecksum dereferences the nil block of a failed read,
			// so a panic is the usual way a bad block shows.
			err = damaged(dir, name, "a block fails its checksum or cannot be decoded (badger panicked: %s)", firstLine(fmt.Sprint(p)))
		}
	}()
	bo := badger.DefaultOptions(dir)
	t, err := table.OpenTable(mf, table.Options{
		ChkMode: options.OnTableRead, Compression: tm.Compression, BlockSize: bo.BlockSize,
		BloomFalsePositive: bo.BloomFalsePositive,
	})
	if err != nil {
		// OpenTable has closed mf.
		return damaged(dir, name, "%v", err)
	}
	return t.Close(-1) // Close, not DecrRef: DecrRef would delete the file
}

// firstLine is the first non-blank line of s, at most 200 bytes: badger's
// panics carry a multi-line dump.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			return line[:min(len(line), 200)]
		}
	}
	return "no message"
}

// openBadger is badger.Open with a panic turned into an error: checkDir
// has verified what badger reads at open, so a panic here is damage it
// did not foresee, and a node must say so rather than crash.
func openBadger(bo badger.Options) (db *badger.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: badger panicked while opening %s: %v", ErrDamaged, bo.Dir, firstLine(fmt.Sprint(p)))
		}
	}()
	return badger.Open(bo)
}

// valueCopy is item.ValueCopy, with a failed value-log read reported.
// Badger logs such a failure (a missing or truncated file, a CRC mismatch)
// and returns an empty value without an error. A value in the value log is
// at least ValueThreshold (≥ 1) bytes, and ValueSize is exact for values in
// the LSM tree, so an empty answer for a non-empty size is that failure.
func valueCopy(item *badger.Item) ([]byte, error) {
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, mapErr(err)
	}
	if len(v) == 0 && item.ValueSize() > 0 {
		return nil, fmt.Errorf("%w: the value of a key could not be read from the value log (badger's log says why)", ErrDamaged)
	}
	return v, nil
}
