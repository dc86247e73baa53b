package controller

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/hooks"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/users"
)

// Default durations.
const (
	DefaultSessionTTL = 24 * time.Hour
	DefaultTokenTTL   = 7 * 24 * time.Hour
)

// Options configure a controller. The zero value is sensible: a memory
// store, the fake provider, the wall clock, bcrypt at its default cost,
// 24-hour sessions and 7-day registration tokens.
type Options struct {
	// Backend keeps the state: Bootstrap writes a new controller to it
	// (it must hold none), Open loads the one it holds. Once Bootstrap or
	// Open succeeds the controller owns it, and Close closes it; if they
	// fail, it is left open for the caller. nil means the file at Path,
	// or, without Path, memory only (the state ends with the process). A
	// backend that is also a store.Follower (store/etcdstore) is shared
	// with other controllers, whose commits this one then follows (see
	// "Several controllers" in the package doc).
	Backend store.Backend
	// Path, when set (and Backend is nil), keeps the state in a bbolt file
	// (store.OpenFile): Bootstrap creates it (exclusively, mode 0600; it
	// must not exist, and a failed Bootstrap removes it), Open reopens it.
	Path string
	// LockTimeout is how long opening Path waits for another process that
	// has it open; 0 means store.DefaultLockTimeout.
	LockTimeout time.Duration
	// Provider supplies machines; nil means a new fakeprovider. Open
	// refuses a provider of another type than the controller was
	// bootstrapped on, and refuses nil unless that was the fake provider
	// (a new, empty fake one then stands in, as the fake keeps nothing
	// between processes: it knows none of the old machines).
	Provider provider.Provider
	// Now is the clock; nil means time.Now. Tests move it to expire sessions.
	Now func() time.Time
	// Hasher hashes passwords; nil means users.Bcrypt{Cost: PasswordCost}.
	// Fixtures may set a fast, test-only hasher here.
	Hasher users.Hasher
	// PasswordCost is the bcrypt cost when Hasher is nil; 0 means
	// bcrypt.DefaultCost.
	PasswordCost int
	// SessionTTL is how long a login lasts; 0 means 24 hours.
	SessionTTL time.Duration
	// TokenTTL is how long a registration token lasts; 0 means 7 days and a
	// negative value means tokens never expire. (The spec's "zero means
	// never" is spelled as a negative value here so that the zero Options
	// stays the safe default.)
	TokenTTL time.Duration
	// Cloud and Region are shown in listings; the defaults are the
	// provider's type and "default".
	Cloud, Region string
	// Addrs are the controller's endpoints, written into registration
	// tokens so that a client knows where to register. Bootstrap records
	// them; alone, Open uses the recorded ones unless Addrs is set. On a
	// backend shared with other controllers, Bootstrap and Open record
	// them as this process's node, and every controller lists every
	// node's (Controller.Servers; "Several API servers" in api.go).
	Addrs []string
	// NodeID names this controller process among those sharing a
	// backend: its node row, replaced when a process opens again under
	// the same id. "" means its Addrs, joined with commas. Unused alone.
	NodeID string
	// WatchBuffer is how many unread batches of changes a Watcher may
	// hold before it is ended as fallen behind; 0 means
	// DefaultWatchBuffer.
	WatchBuffer int
	// Provisioning tunes the provisioner that starts and stops machines.
	Provisioning Provisioning
	// Logger receives structured events (never secrets); nil discards them.
	Logger *slog.Logger
	// Rand is the source of secrets, tokens and UUIDs; nil means
	// crypto/rand. Only tests should set it.
	Rand io.Reader
}

// openState opens the working set on Backend, on the file at Path, or in
// memory. created says that this call made the file at Path.
func (o Options) openState(ctx context.Context, create bool) (st *state.Store, created bool, err error) {
	switch {
	case o.Backend != nil && o.Path != "":
		return nil, false, herd.Errorf(herd.ErrInvalid, "set Options.Backend or Options.Path, not both")
	case o.Backend != nil:
		if w, ok := o.Backend.(*hooks.Working); ok {
			return w.State, false, nil
		}
		st, err := state.New(ctx, o.Backend)
		return st, false, err
	case o.Path != "":
		f, err := store.OpenFile(o.Path, store.FileOptions{Create: create, LockTimeout: o.LockTimeout})
		if err != nil {
			return nil, false, err
		}
		st, err := state.New(ctx, f)
		if err != nil {
			if create {
				err = errors.Join(err, os.Remove(o.Path))
			}
			return nil, false, errors.Join(err, f.Close())
		}
		return st, create, nil
	case create:
		return state.NewMemory(), false, nil
	}
	return nil, false, herd.Errorf(herd.ErrInvalid, "controller.Open needs a path or Options.Backend")
}

func (o Options) withDefaults() Options {
	if o.Provider == nil {
		o.Provider = fakeprovider.New()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Hasher == nil {
		o.Hasher = users.Bcrypt{Cost: o.PasswordCost}
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	if o.Cloud == "" {
		o.Cloud = o.Provider.Type()
	}
	if o.Region == "" {
		o.Region = "default"
	}
	if o.WatchBuffer <= 0 {
		o.WatchBuffer = DefaultWatchBuffer
	}
	o.Provisioning = o.Provisioning.withDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
