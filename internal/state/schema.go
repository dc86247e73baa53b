package state

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/users"
)

// Table is the name of a table. Tables and indexes are named only by the
// constants here: an unknown name is a bug, and Get, List and DeleteAll
// panic on one (TestSchemaGolden checks every constant against the
// schema).
type Table string

// Index is the name of an index; see Table.
type Index string

// Table names.
const (
	TableController   Table = "controller"
	TableUsers        Table = "users"
	TableRemovedUsers Table = "removed_users"
	TableModels       Table = "models"
	TableGrants       Table = "model_grants"
	TableApplications Table = "applications"
	TableUnits        Table = "units"
	TableMachines     Table = "machines"
	TableSessions     Table = "sessions"
	TableSecrets      Table = "registration_secrets"
	TableSequences    Table = "sequences"
	TableNodes        Table = "controller_nodes"
)

// Index names. IndexModel and IndexOwner are prefix scans of compound
// indexes (rows of a model are keyed model uuid first; models owner
// first), so they cost no index of their own to maintain.
const (
	IndexID        Index = "id"
	IndexOwnerName Index = "owner_name"
	IndexUser      Index = "user"
	IndexModel     Index = "id_prefix"
	IndexOwner     Index = "owner_name_prefix"
)

// Sequence is a counter of a model's: the next machine id
// (Name "machine") or the next unit number of an application (Name
// "unit/" and the application). Numbers are never reused while the model
// (or the application) lives, as in Juju. Counters are storage, not part
// of what a model shows, so they live here rather than in models.Model.
type Sequence struct {
	ModelUUID string
	Name      string
	Next      int
}

// MachineSequence and UnitSequence name a model's counters.
const MachineSequence = "machine"

// UnitSequence is the name of an application's unit counter.
func UnitSequence(app string) string { return "unit/" + app }

// Controller is the controller's own record; there is one.
type Controller struct {
	ID           string // always "controller"
	Name         string
	UUID         string
	Cloud        string
	Region       string
	ProviderType string
	Owner        string // canonical name of the bootstrap admin
	Created      time.Time
	InstanceID   string // the controller machine's provider id
	// Addrs are the endpoints written into registration tokens.
	Addrs []string
	// CACert and CAKey are the controller's CA (PEM): the API server's
	// certificates are signed by it and clients pin CACert. Made at
	// bootstrap, or on the first open of a controller from before.
	CACert, CAKey string `json:",omitempty"`
	// Destroyed is set, on a backend shared by several controllers, by
	// the DestroyController that destroyed it: every controller process
	// on it then closes.
	Destroyed bool `json:",omitempty"`
}

// Node is one controller process serving the API, when several share one
// state (a backend that is a store.Follower): each records its API
// addresses at Open or Bootstrap under its node id, so that every
// controller can list all of them (Controller.Servers). Rows stay when
// their process stops: a node restarted under the same id replaces its
// row.
type Node struct {
	ID      string
	Addrs   []string
	Started time.Time // when the process recorded the row
}

// User is a user's row: the public value, the controller access (None once
// login is revoked) and the password hash (bcrypt; empty until the user
// registers or has a password set).
type User struct {
	users.User
	Access       acl.Level
	PasswordHash string
}

// RemovedUser keeps a removed user for audit. Its ID is the name plus the
// removal time, so the same name may be removed more than once.
type RemovedUser struct {
	ID        string
	User      users.User
	Removed   time.Time
	RemovedBy string
}

// Grant is a user's direct access to a model.
type Grant struct {
	ModelUUID string
	User      string
	Level     acl.Level
	// LastConnection is when the user last connected to the model (a
	// model connection of the API); zero if never.
	LastConnection time.Time
}

// Session is a login session. Only the SHA-256 hash of its token is kept.
type Session struct {
	TokenHash string // hex
	User      string
	Created   time.Time
	Expires   time.Time
}

// Secret is a user's pending registration secret.
type Secret struct {
	User string
	// Key is the registration token's secret key itself: Juju's /register
	// exchange must open a box sealed with it. It is deleted when used,
	// reset or found expired.
	Key     []byte
	Created time.Time
	Expires time.Time // zero: never
}

// fieldIndex indexes a string field read by a plain function rather than
// by reflection (memdb.StringFieldIndex looks fields up by name on every
// insert, which is most of a small write's cost). Keys are the value plus
// a NUL, as memdb.StringFieldIndex makes them, so prefixes do not collide.
type fieldIndex func(obj any) (string, bool)

func (f fieldIndex) FromObject(obj any) (bool, []byte, error) {
	v, ok := f(obj)
	if !ok || v == "" {
		return false, nil, nil
	}
	b := make([]byte, len(v)+1)
	copy(b, v)
	return true, b, nil
}

// PrefixFromArgs makes the key of a whole value: as the last argument of a
// compound index's prefix scan it matches that component exactly.
func (f fieldIndex) PrefixFromArgs(args ...any) ([]byte, error) { return f.FromArgs(args...) }

func (f fieldIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("index takes one argument, got %d", len(args))
	}
	v, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("index argument is %T, want string", args[0])
	}
	b := make([]byte, len(v)+1)
	copy(b, v)
	return b, nil
}

// field returns the indexer of one string field of row type T.
func field[T any](get func(T) string) fieldIndex {
	return func(obj any) (string, bool) {
		switch r := obj.(type) {
		case T:
			return get(r), true
		case *T:
			return get(*r), true
		}
		return "", false
	}
}

func compound(fields ...memdb.Indexer) memdb.Indexer {
	return &memdb.CompoundIndex{Indexes: fields}
}

func table(name Table, id memdb.Indexer, extra map[Index]memdb.Indexer) *memdb.TableSchema {
	t := &memdb.TableSchema{Name: string(name), Indexes: map[string]*memdb.IndexSchema{
		string(IndexID): {Name: string(IndexID), Unique: true, Indexer: id},
	}}
	for n, ix := range extra {
		t.Indexes[string(n)] = &memdb.IndexSchema{Name: string(n), Indexer: ix}
	}
	return t
}

// schema returns the go-memdb schema: a table per kind of row, with an
// index for every listing and check the controller makes.
func schema() *memdb.DBSchema {
	var (
		grantModel = field(func(g Grant) string { return g.ModelUUID })
		grantUser  = field(func(g Grant) string { return g.User })
		appModel   = field(func(a models.Application) string { return a.ModelUUID })
		unitModel  = field(func(u models.Unit) string { return u.ModelUUID })
		machModel  = field(func(m models.Machine) string { return m.ModelUUID })
	)
	ts := []*memdb.TableSchema{
		table(TableController, field(func(c Controller) string { return c.ID }), nil),
		table(TableUsers, field(func(u User) string { return u.Name }), nil),
		table(TableRemovedUsers, field(func(r RemovedUser) string { return r.ID }), nil),
		table(TableModels, field(func(m models.Model) string { return m.UUID }), map[Index]memdb.Indexer{
			IndexOwnerName: compound(field(func(m models.Model) string { return m.Owner }), field(func(m models.Model) string { return m.Name })),
		}),
		table(TableGrants, compound(grantModel, grantUser), map[Index]memdb.Indexer{IndexUser: grantUser}),
		table(TableApplications, compound(appModel, field(func(a models.Application) string { return a.Name })), nil),
		table(TableUnits, compound(unitModel, field(func(u models.Unit) string { return u.Name })), nil),
		table(TableMachines, compound(machModel, field(func(m models.Machine) string { return m.ID })), nil),
		table(TableSessions, field(func(s Session) string { return s.TokenHash }), map[Index]memdb.Indexer{IndexUser: field(func(s Session) string { return s.User })}),
		table(TableSecrets, field(func(s Secret) string { return s.User }), nil),
		table(TableSequences, compound(field(func(s Sequence) string { return s.ModelUUID }), field(func(s Sequence) string { return s.Name })), nil),
		table(TableNodes, field(func(n Node) string { return n.ID }), nil),
	}
	s := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{}}
	for _, t := range ts {
		s.Tables[t.Name] = t
	}
	return s
}

// Tables lists the table names in a fixed order.
func Tables() []Table {
	return []Table{TableController, TableUsers, TableRemovedUsers, TableModels, TableGrants,
		TableApplications, TableUnits, TableMachines, TableSessions, TableSecrets, TableSequences, TableNodes}
}
