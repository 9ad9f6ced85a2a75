package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	sdk "github.com/dynkv/dynkv/client"
)

// printDisk prints each member's store size, its file system's free space
// and the floor below which it refuses writes; a member that did not
// answer gets dashes, one that has left no row.
func printDisk(w io.Writer, members []memberStatus) error {
	fmt.Fprintln(w, "\nDisk:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTORE\tFREE\tFLOOR\tWRITES")
	for _, m := range members {
		if m.Metrics == nil {
			if m.Status != sdk.StatusLeft {
				fmt.Fprintf(tw, "%s\t-\t-\t-\t-\n", m.ID)
			}
			continue
		}
		d := m.Metrics.Disk
		writes := "ok"
		switch {
		case d.Error != "":
			writes = "ok (free space unknown: " + d.Error + ")"
		case d.BelowFloor:
			writes = "REFUSED: below the floor (507)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, humanBytes(d.StoreBytes), humanBytes(d.FreeBytes), humanBytes(d.FloorBytes), writes)
	}
	return tw.Flush()
}

// humanBytes renders n bytes in the largest binary unit that keeps it at
// least 1, with one decimal.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), "KMGTPE"
	i := -1
	for v >= unit && i < len(suffix)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, suffix[i])
}
