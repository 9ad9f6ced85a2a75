// Package backup is the file format of dynkv backups: a versioned header,
// then one record per key holding the key and its encoded sibling set
// (vclock's binary form, with its causal context), each record checked by a
// CRC-32C, then a trailer counting the records. It is pure: it reads and
// writes streams and knows nothing of clusters or HTTP; what a set means is
// vclock's business.
//
// Invariants: a Reader returns only records whose checksum holds, in file
// order, and stops at the first damage with a *DamageError giving the byte
// offset where the damage starts; a file without its trailer (cut short) is
// damage too, so a truncated backup is never taken for a whole one.
//
// A backup holds the keys of one bucket, which its header names, so that
// a restore puts them back where they came from (or where it is told).
//
// Layout (integers are uvarints unless noted):
//
//	header  "DYNKVBAK" | version byte (2) | created, unix ns, 8 bytes big-endian |
//	        len bucket | bucket | CRC-32C (4 bytes BE) of the header's bytes before it
//	record  'R' | len key | key | len set | set | CRC-32C (4 bytes BE) of the record's bytes before it
//	trailer 'E' | record count | CRC-32C (4 bytes BE) of 'E' and the count
//
// Version 1, from before buckets, is still read: its header ends after
// created, has no checksum, and its keys are the default bucket's.
package backup
