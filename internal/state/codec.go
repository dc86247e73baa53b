package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/hashicorp/go-memdb"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/store"
)

// format is the first byte of every encoded row; header is its length
// with the checksum.
const (
	format = 1
	header = 5
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// rowCodecs decode each table's rows from their JSON.
var rowCodecs = map[Table]func([]byte) (any, error){
	TableController:   decodeJSON[Controller],
	TableUsers:        decodeJSON[User],
	TableRemovedUsers: decodeJSON[RemovedUser],
	TableModels:       decodeJSON[models.Model],
	TableGrants:       decodeJSON[Grant],
	TableApplications: decodeJSON[models.Application],
	TableUnits:        decodeJSON[models.Unit],
	TableMachines:     decodeJSON[models.Machine],
	TableSessions:     decodeJSON[Session],
	TableSecrets:      decodeJSON[Secret],
	TableSequences:    decodeJSON[Sequence],
	TableNodes:        decodeJSON[Node],
}

func decodeJSON[T any](b []byte) (any, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// checksum is the CRC-32C of the table and the key (each length-prefixed,
// so that no two pairs run together alike), then of the format byte and
// the JSON. It allocates nothing but a pooled buffer for the prefix:
// loading a large store computes one a row (BenchmarkOpenLarge).
func checksum(table, key string, formatByte byte, js []byte) uint32 {
	bp := prefixBuf.Get().(*[]byte)
	b := binary.AppendUvarint((*bp)[:0], uint64(len(table)))
	b = append(b, table...)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = append(b, formatByte)
	c := crc32.Update(0, castagnoli, b)
	*bp = b
	prefixBuf.Put(bp)
	return crc32.Update(c, castagnoli, js)
}

var prefixBuf = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// encode is a row's value in a record: format, checksum, JSON.
func encode(table Table, key string, row any) ([]byte, error) {
	js, err := json.Marshal(row)
	if err != nil {
		return nil, herd.Wrap(herd.ErrInvalid, err, fmt.Sprintf("store: row of %s", table))
	}
	v := make([]byte, header, header+len(js))
	v[0] = format
	binary.BigEndian.PutUint32(v[1:header], checksum(string(table), key, format, js))
	return append(v, js...), nil
}

// decode checks a record and returns its row; every refusal wraps
// herd.ErrInvalid and names the table.
func decode(r store.Record) (any, error) {
	bad := func(format string, args ...any) error {
		return herd.Errorf(herd.ErrInvalid, "store: table %s, key %q: %s", r.Table, r.Key, fmt.Sprintf(format, args...))
	}
	dec, ok := rowCodecs[Table(r.Table)]
	switch {
	case !ok:
		return nil, herd.Errorf(herd.ErrInvalid, "store: unknown table %q", r.Table)
	case len(r.Value) < header:
		return nil, bad("row of %d bytes is too short", len(r.Value))
	case r.Value[0] != format:
		return nil, bad("row format %d is not known", r.Value[0])
	}
	js := r.Value[header:]
	if got, want := checksum(r.Table, r.Key, r.Value[0], js), binary.BigEndian.Uint32(r.Value[1:header]); got != want {
		return nil, bad("checksum mismatch (row damaged)")
	}
	row, err := dec(js)
	if err != nil {
		return nil, bad("row does not decode: %v", err)
	}
	k, err := keyBytes(Table(r.Table), row)
	if err != nil {
		return nil, bad("%v", err)
	}
	if string(k) != r.Key {
		return nil, bad("row's own key is %q", k)
	}
	return row, nil
}

// key is a row's primary key, as its id index makes it.
func key(table Table, row any) (string, error) {
	k, err := keyBytes(table, row)
	return string(k), err
}

func keyBytes(table Table, row any) ([]byte, error) {
	db, err := empty()
	if err != nil {
		return nil, err
	}
	ts, ok := db.DBSchema().Tables[string(table)]
	if !ok {
		return nil, fmt.Errorf("unknown table %q", table)
	}
	ix, ok := ts.Indexes[string(IndexID)].Indexer.(memdb.SingleIndexer)
	if !ok {
		return nil, fmt.Errorf("table %s: id index is not single-valued", table)
	}
	ok, k, err := ix.FromObject(row)
	if err != nil || !ok {
		return nil, fmt.Errorf("table %s: row has no primary key (%v)", table, err)
	}
	return k, nil
}

// encodeChanges turns a transaction's net changes into records: a delete,
// a put, or (when an update changed the primary key) both.
func encodeChanges(changes []Change) ([]store.Record, error) {
	out := make([]store.Record, 0, len(changes))
	for _, c := range changes {
		if c.After == nil {
			if c.Before == nil {
				continue // made and removed in the same transaction
			}
			k, err := key(c.Table, c.Before)
			if err != nil {
				return nil, herd.Wrap(herd.ErrInvalid, err, "store")
			}
			out = append(out, store.Record{Table: string(c.Table), Key: k})
			continue
		}
		k, err := key(c.Table, c.After)
		if err != nil {
			return nil, herd.Wrap(herd.ErrInvalid, err, "store")
		}
		if c.Before != nil {
			if old, err := key(c.Table, c.Before); err == nil && old != k {
				out = append(out, store.Record{Table: string(c.Table), Key: old})
			}
		}
		v, err := encode(c.Table, k, c.After)
		if err != nil {
			return nil, err
		}
		out = append(out, store.Record{Table: string(c.Table), Key: k, Value: v})
	}
	return out, nil
}
