package store

import (
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/users"
)

// Table names.
const (
	TableController   = "controller"
	TableUsers        = "users"
	TableRemovedUsers = "removed_users"
	TableAccess       = "controller_access"
	TableModels       = "models"
	TableGrants       = "model_grants"
	TableApplications = "applications"
	TableUnits        = "units"
	TableMachines     = "machines"
	TableSessions     = "sessions"
	TableSecrets      = "registration_secrets"
)

// Index names.
const (
	IndexID        = "id"
	IndexOwner     = "owner"
	IndexOwnerName = "owner_name"
	IndexModel     = "model"
	IndexUser      = "user"
	IndexApp       = "application"
)

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
}

// User is a user's row: the public value plus the password hash (bcrypt;
// empty until the user registers or has a password set).
type User struct {
	users.User
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

// Access is a user's controller access.
type Access struct {
	User  string
	Level acl.Level
}

// Grant is a user's direct access to a model.
type Grant struct {
	ModelUUID string
	User      string
	Level     acl.Level
}

// Session is a login session. Only the SHA-256 hash of its token is kept.
type Session struct {
	TokenHash string // hex
	User      string
	Created   time.Time
	Expires   time.Time
}

// Secret is a user's pending registration secret, by its SHA-256 hash.
type Secret struct {
	User    string
	Hash    string // hex
	Created time.Time
	Expires time.Time // zero: never
}

func str(field string) memdb.Indexer { return &memdb.StringFieldIndex{Field: field} }

func compound(fields ...string) memdb.Indexer {
	ix := make([]memdb.Indexer, len(fields))
	for i, f := range fields {
		ix[i] = str(f)
	}
	return &memdb.CompoundIndex{Indexes: ix}
}

func table(name string, id memdb.Indexer, extra map[string]memdb.Indexer) *memdb.TableSchema {
	t := &memdb.TableSchema{Name: name, Indexes: map[string]*memdb.IndexSchema{
		IndexID: {Name: IndexID, Unique: true, Indexer: id},
	}}
	for n, ix := range extra {
		t.Indexes[n] = &memdb.IndexSchema{Name: n, Indexer: ix}
	}
	return t
}

// Schema returns the go-memdb schema: a table per kind of row, with an
// index for every listing and check the controller makes.
func Schema() *memdb.DBSchema {
	ts := []*memdb.TableSchema{
		table(TableController, str("ID"), nil),
		table(TableUsers, str("Name"), nil),
		table(TableRemovedUsers, str("ID"), nil),
		table(TableAccess, str("User"), nil),
		table(TableModels, str("UUID"), map[string]memdb.Indexer{
			IndexOwner:     str("Owner"),
			IndexOwnerName: compound("Owner", "Name"),
		}),
		table(TableGrants, compound("ModelUUID", "User"), map[string]memdb.Indexer{
			IndexModel: str("ModelUUID"),
			IndexUser:  str("User"),
		}),
		table(TableApplications, compound("ModelUUID", "Name"), map[string]memdb.Indexer{IndexModel: str("ModelUUID")}),
		table(TableUnits, compound("ModelUUID", "Name"), map[string]memdb.Indexer{
			IndexModel: str("ModelUUID"),
			IndexApp:   compound("ModelUUID", "Application"),
		}),
		table(TableMachines, compound("ModelUUID", "ID"), map[string]memdb.Indexer{IndexModel: str("ModelUUID")}),
		table(TableSessions, str("TokenHash"), map[string]memdb.Indexer{IndexUser: str("User")}),
		table(TableSecrets, str("User"), nil),
	}
	s := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{}}
	for _, t := range ts {
		s.Tables[t.Name] = t
	}
	return s
}

// Tables lists the table names in a fixed order.
func Tables() []string {
	return []string{TableController, TableUsers, TableRemovedUsers, TableAccess, TableModels, TableGrants,
		TableApplications, TableUnits, TableMachines, TableSessions, TableSecrets}
}

var _ = models.Model{}
