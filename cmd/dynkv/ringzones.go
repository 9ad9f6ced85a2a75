package main

import (
	"fmt"
	"slices"
	"strings"
)

// How `dynkv ring` shows zones (serve --zone). A cluster that names none
// prints as it did before zones: no zone column, no zone labels.

// zonesSummary is ", K zones" for the ring header, "" when no member has a
// zone. Members without one count as one zone, as the ring places them.
func zonesSummary(zones map[string]string) string {
	named := false
	var distinct []string
	for _, z := range zones {
		named = named || z != ""
		if !slices.Contains(distinct, z) {
			distinct = append(distinct, z)
		}
	}
	if !named {
		return ""
	}
	return fmt.Sprintf(", %d zones", len(distinct))
}

// withZones joins ids, each labelled with its zone when it has one:
// "n1(eu-1a) n2(eu-1b)".
func withZones(ids []string, zones map[string]string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id
		if z := zones[id]; z != "" {
			out[i] = id + "(" + z + ")"
		}
	}
	return strings.Join(out, " ")
}

// zoneColumn is cell when the cluster has zones, "" otherwise.
func zoneColumn(zoned bool, cell string) string {
	if zoned {
		return cell
	}
	return ""
}
