package controller

import (
	"context"
	"hash/maphash"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/users"
)

// The authorization fast path.
//
// Every committed write updates an immutable snapshot of what authorization
// needs (sessions, users' controller access and state, models by name,
// grants), and the snapshot is swapped in atomically before Commit returns.
// A check loads the snapshot and does a few map lookups: no allocation, no
// lock, no walk of go-memdb's radix trees. Each map is split into shards
// that are copied on write, so a commit copies only the shards it touches
// (a few hundred entries each at 100k grants), not the whole map.

const nShards = 256

var seed = maphash.MakeSeed()

// cow is a copy-on-write map in shards. The zero value is empty.
type cow[K comparable, V any] struct {
	shards *[nShards]map[K]V
}

func (m cow[K, V]) get(k K, h uint64) (V, bool) {
	var zero V
	if m.shards == nil {
		return zero, false
	}
	v, ok := m.shards[h%nShards][k]
	return v, ok
}

// edit collects changes to a cow map and makes a new one, copying each
// touched shard once; an untouched map is kept as it is.
type edit[K comparable, V any] struct {
	base   cow[K, V]
	next   *[nShards]map[K]V
	copied [nShards]bool
}

func (e *edit[K, V]) begin(m cow[K, V]) { e.base = m }

// peek reads the map as edited so far, without copying anything.
func (e *edit[K, V]) peek(k K, h uint64) (V, bool) {
	if e.next == nil {
		return e.base.get(k, h)
	}
	v, ok := e.next[h%nShards][k]
	return v, ok
}

func (e *edit[K, V]) shard(h uint64) map[K]V {
	if e.next == nil {
		e.next = new([nShards]map[K]V)
		if e.base.shards != nil {
			*e.next = *e.base.shards
		}
	}
	i := h % nShards
	if !e.copied[i] {
		n := make(map[K]V, len(e.next[i])+1)
		for k, v := range e.next[i] {
			n[k] = v
		}
		e.next[i] = n
		e.copied[i] = true
	}
	return e.next[i]
}

func (e *edit[K, V]) set(k K, h uint64, v V) { e.shard(h)[k] = v }
func (e *edit[K, V]) del(k K, h uint64)      { delete(e.shard(h), k) }
func (e *edit[K, V]) done() cow[K, V] {
	if e.next == nil {
		return e.base
	}
	return cow[K, V]{shards: e.next}
}

func hs(s string) uint64 { return maphash.String(seed, s) }

type sessionAuth struct {
	user    string
	expires time.Time
}

type userAuth struct {
	access   acl.Level
	disabled bool
}

// flatKey is one user's grant on one model, keyed by a 64-bit mix of
// hs(model name) and hs(user), which a session keeps: a check hashes the
// name it is given once and looks up an integer. The names are kept in the
// value to tell a hash collision, which sends the check the slow way.
func flatKey(model string, uh uint64) uint64 { return hs(model) ^ (uh * 0x9E3779B97F4A7C15) }

type hashedGrant struct {
	model, user string // both "" mark two grants with one key
	level       acl.Level
}

// shardOf spreads model names over shards from their last 8 bytes, which
// is cheaper than hashing the whole name; a poor spread only makes writes
// copy more, never changes an answer.
func shardOf(s string) uint64 {
	var x uint64
	n := len(s)
	for i := max(0, n-8); i < n; i++ {
		x = x<<8 | uint64(s[i])
	}
	return (x*0x9E3779B97F4A7C15 + uint64(n)) >> 56
}

type modelCounts struct{ machines, units int }

// userGrant is one of a user's grants, with the model's name for sorting.
type userGrant struct {
	owner, name, uuid string
	level             acl.Level
}

// authSnap is one immutable state of the fast path.
type authSnap struct {
	sessions cow[string, sessionAuth]  // token hash →
	users    cow[string, userAuth]     // user →
	byModel  cow[string, string]       // "owner/name" → uuid, sharded by shardOf
	flat     cow[uint64, hashedGrant]  // flatKey(model, user) → level
	models   cow[string, models.Model] // uuid →
	byUser   cow[string, []userGrant]  // user → grants sorted by owner, name (copied on write)
	counts   cow[string, modelCounts]  // uuid →
}

// authz holds the current snapshot.
type authz struct{ cur atomic.Pointer[authSnap] }

// attach builds the first snapshot from the store and keeps it current.
func (a *authz) attach(st *store.Store) {
	st.OnCommit(func(_ *store.Txn, changes []store.Change) { a.apply(changes) })
	r := st.Read()
	var changes []store.Change
	for _, table := range []string{store.TableSessions, store.TableUsers, store.TableModels, store.TableGrants, store.TableMachines, store.TableUnits} {
		for _, row := range store.List[any](r, table, store.IndexID) {
			changes = append(changes, store.Change{Table: table, After: row})
		}
	}
	a.cur.Store(&authSnap{})
	a.apply(changes)
}

func (a *authz) apply(changes []store.Change) {
	old := a.cur.Load()
	var (
		sessions edit[string, sessionAuth]
		usersE   edit[string, userAuth]
		byModel  edit[string, string]
		flat     edit[uint64, hashedGrant]
		modelsE  edit[string, models.Model]
		byUser   edit[string, []userGrant]
		counts   edit[string, modelCounts]
	)
	sessions.begin(old.sessions)
	usersE.begin(old.users)
	byModel.begin(old.byModel)
	flat.begin(old.flat)
	modelsE.begin(old.models)
	byUser.begin(old.byUser)
	counts.begin(old.counts)
	// A user's grants are edited in a map made once per apply, then put
	// back as a sorted slice.
	touched := map[string]map[string]userGrant{}
	userGrants := func(u string) map[string]userGrant {
		if m, ok := touched[u]; ok {
			return m
		}
		old, _ := byUser.peek(u, hs(u))
		m := make(map[string]userGrant, len(old)+1)
		for _, g := range old {
			m[g.uuid] = g
		}
		touched[u] = m
		return m
	}
	count := func(uuid string, dm, du int) {
		h := hs(uuid)
		c, _ := counts.peek(uuid, h)
		c.machines += dm
		c.units += du
		counts.set(uuid, h, c)
	}
	for _, c := range changes {
		switch c.Table {
		case store.TableSessions:
			if s, ok := c.After.(store.Session); ok {
				sessions.set(s.TokenHash, hs(s.TokenHash), sessionAuth{user: s.User, expires: s.Expires})
			} else if s, ok := c.Before.(store.Session); ok {
				sessions.del(s.TokenHash, hs(s.TokenHash))
			}
		case store.TableUsers:
			if u, ok := c.After.(store.User); ok {
				usersE.set(u.Name, hs(u.Name), userAuth{access: u.Access, disabled: u.Disabled})
			} else if u, ok := c.Before.(store.User); ok {
				usersE.del(u.Name, hs(u.Name))
			}
		case store.TableModels:
			if m, ok := c.Before.(models.Model); ok {
				if a, ok := c.After.(models.Model); !ok || a.FullName() != m.FullName() {
					byModel.del(m.FullName(), shardOf(m.FullName()))
				}
				modelsE.del(m.UUID, hs(m.UUID))
			}
			if m, ok := c.After.(models.Model); ok {
				byModel.set(m.FullName(), shardOf(m.FullName()), m.UUID)
				modelsE.set(m.UUID, hs(m.UUID), m)
			}
		case store.TableMachines:
			if m, ok := c.Before.(models.Machine); ok && c.After == nil {
				count(m.ModelUUID, -1, 0)
			} else if m, ok := c.After.(models.Machine); ok && c.Before == nil {
				count(m.ModelUUID, 1, 0)
			}
		case store.TableUnits:
			if u, ok := c.Before.(models.Unit); ok && c.After == nil {
				count(u.ModelUUID, 0, -1)
			} else if u, ok := c.After.(models.Unit); ok && c.Before == nil {
				count(u.ModelUUID, 0, 1)
			}
		}
	}
	// Grants second, once every model of the transaction is known: they
	// are keyed by the model's full name. A removed grant's name is the one
	// its user's list recorded when it was made.
	for _, c := range changes {
		if c.Table != store.TableGrants {
			continue
		}
		if g, ok := c.Before.(store.Grant); ok {
			ug := userGrants(g.User)
			if prev, ok := ug[g.ModelUUID]; ok {
				full := prev.owner + "/" + prev.name
				k := flatKey(full, hs(g.User))
				if hg, _ := flat.peek(k, k); hg.user == g.User && hg.model == full {
					flat.del(k, k)
				}
			}
			delete(ug, g.ModelUUID)
		}
		if g, ok := c.After.(store.Grant); ok {
			m, _ := modelsE.peek(g.ModelUUID, hs(g.ModelUUID))
			full := m.FullName()
			k := flatKey(full, hs(g.User))
			hg := hashedGrant{model: full, user: g.User, level: g.Level}
			if prev, ok := flat.peek(k, k); ok && (prev.user != g.User || prev.model != full) {
				hg = hashedGrant{} // two grants, one key: neither is answered fast
			}
			flat.set(k, k, hg)
			userGrants(g.User)[g.ModelUUID] = userGrant{owner: m.Owner, name: m.Name, uuid: g.ModelUUID, level: g.Level}
		}
	}
	for u, m := range touched {
		list := make([]userGrant, 0, len(m))
		for _, g := range m {
			list = append(list, g)
		}
		slices.SortFunc(list, func(a, b userGrant) int {
			if c := strings.Compare(a.owner, b.owner); c != 0 {
				return c
			}
			return strings.Compare(a.name, b.name)
		})
		byUser.set(u, hs(u), list)
	}
	a.cur.Store(&authSnap{
		sessions: sessions.done(), users: usersE.done(), byModel: byModel.done(), flat: flat.done(), models: modelsE.done(),
		byUser: byUser.done(), counts: counts.done(),
	})
}

var (
	errSessionEnded = herd.Errorf(herd.ErrUnauthenticated, "session ended: log in again")
	errExpired      = herd.Errorf(herd.ErrUnauthenticated, "login expired")
	errUserGone     = herd.Errorf(herd.ErrUnauthenticated, "user removed, disabled or without controller access")
	errDenied       = herd.Denied()
)

// sessionMemo is what a session's validation found in one snapshot.
type sessionMemo struct {
	snap    *authSnap
	user    userAuth
	expires time.Time
	expNano int64 // expires in unix nanoseconds, for the coarse clock
	err     error
}

// fastCaller validates the session against the snapshot. What it finds is
// kept until the snapshot changes (only expiry is checked each time), so a
// session checked again and again between writes costs a clock read.
func (s *Session) fastCaller(snap *authSnap) (userAuth, error) {
	m := s.memo.Load()
	if m == nil || m.snap != snap {
		m = s.remember(snap)
	}
	if m.err != nil {
		return userAuth{}, m.err
	}
	if s.c.wall {
		if s.c.coarse.UnixNano() >= m.expNano {
			return userAuth{}, errExpired
		}
	} else if expiredAt(m.expires, s.c.opts.Now()) {
		return userAuth{}, errExpired
	}
	return m.user, nil
}

// remember looks the session up in a new snapshot and memoizes it.
func (s *Session) remember(snap *authSnap) *sessionMemo {
	{
		m := &sessionMemo{snap: snap}
		sess, ok := snap.sessions.get(s.hash, s.hashH)
		u, uok := snap.users.get(sess.user, s.userH)
		switch {
		case !ok:
			m.err = errSessionEnded
		case !uok || u.disabled || u.access == acl.None:
			m.err = errUserGone
		}
		m.user, m.expires, m.expNano = u, sess.expires, sess.expires.UnixNano()
		s.memo.Store(m)
		return m
	}
}

// Authorize reports whether the session may act at level want: on the
// model named by model ("owner/name"), or, for a controller level, on the
// controller (model ""). It returns nil, herd.ErrPermissionDenied, or
// herd.ErrUnauthenticated for a session that is no longer valid. It reads
// the authorization snapshot: no allocation and no store transaction for
// a canonical "owner/name" (other spellings, and models that do not exist,
// take the slower path through the store, with the same answer).
func (s *Session) Authorize(model string, want acl.Level) error {
	if s.c.closed.Load() {
		return herd.Errorf(herd.ErrClosed, "controller %q is closed", s.c.info.Name)
	}
	snap := s.c.auth.cur.Load()
	u, err := s.fastCaller(snap)
	if err != nil {
		return err
	}
	switch want.Kind() {
	case acl.KindController:
		if model != "" {
			return herd.Errorf(herd.ErrInvalid, "%q controller access not valid on a model", want.String())
		}
		if u.access.Implies(want) {
			return nil
		}
		return errDenied
	case acl.KindNone:
		return herd.Errorf(herd.ErrInvalid, "access level %d not valid", uint8(want))
	}
	// A hit is the whole answer: keys are spelt as the store spells
	// names, so only a miss needs the name looked at.
	if u.access == acl.Superuser {
		if _, ok := snap.byModel.get(model, shardOf(model)); ok {
			return nil
		}
		return s.authorizeSlow(model, want) // a missing or oddly spelt model
	}
	if k := flatKey(model, s.userH); true {
		g, ok := snap.flat.get(k, k)
		switch {
		case !ok:
		case g.user != s.user || g.model != model:
			return s.authorizeSlow(model, want) // a hash collision
		case g.level.Implies(want):
			return nil
		default:
			return errDenied
		}
	}
	if !canonicalRef(model) {
		// Other spellings (no owner, capitals, a domain) and names that
		// are not valid take the slow way, which resolves or refuses them.
		return s.authorizeSlow(model, want)
	}
	// No grant. Outside the caller's own namespace that is permission
	// denied whether or not the model exists; inside it, a missing model
	// is not found, so look.
	if len(model) > len(s.user) && model[len(s.user)] == '/' && model[:len(s.user)] == s.user {
		if _, ok := snap.byModel.get(model, shardOf(model)); !ok {
			return s.authorizeSlow(model, want)
		}
	}
	return errDenied
}

// canonicalRef reports whether ref is "owner/name" exactly as the store
// spells it: a canonical user name and a valid model name (users and
// models packages' rules, restated as a loop so the check allocates
// nothing and runs no regular expression).
func canonicalRef(ref string) bool {
	slash := strings.IndexByte(ref, '/')
	if slash < 2 || len(ref)-slash-1 < 1 || len(ref)-slash-1 > models.MaxNameLen || slash > users.MaxNameLen {
		return false
	}
	owner, name := ref[:slash], ref[slash+1:]
	if refChars[owner[0]] != alnum || refChars[owner[len(owner)-1]] != alnum || refChars[name[0]] != alnum {
		return false
	}
	for i := 0; i < len(owner); i++ {
		if refChars[owner[i]] == 0 {
			return false
		}
	}
	for i := 0; i < len(name); i++ {
		if c := refChars[name[i]]; c != alnum && c != hyphen {
			return false
		}
	}
	return true
}

// refChars classes the bytes of a canonical reference.
const (
	alnum  = 1 // a-z 0-9
	hyphen = 2 // -
	punct  = 3 // . + (user names only)
)

var refChars = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = alnum
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = alnum
	}
	t['-'], t['.'], t['+'] = hyphen, punct, punct
	return t
}()

// authorizeSlow answers Authorize through a store read, as every operation
// authorizes. The randomized test holds the two paths to the same answers.
func (s *Session) authorizeSlow(model string, want acl.Level) error {
	t, w, err := s.read(context.Background())
	if err != nil {
		return err
	}
	if want.Kind() == acl.KindController {
		if w.access.Implies(want) {
			return nil
		}
		return errDenied
	}
	_, _, err = s.modelFor(t, w, model, want)
	return err
}
