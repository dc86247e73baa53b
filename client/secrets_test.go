package client

import (
	"bytes"
	"log/slog"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log sink safe for the pinger's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestSecretsNotKeptOrLogged: the password is in no field of the session
// after Login, and neither it nor the session token reaches the log,
// through a login, a drop, a resume and a model connection.
func TestSecretsNotKeptOrLogged(t *testing.T) {
	f := newFake(t)
	f.reply("UserManager.EnableUser", `{"results":[{}]}`)
	f.reply("ModelManager.ListModelSummaries", summariesJSON)
	f.reply("Client.FullStatus", fullStatusJSON)
	var logs lockedBuffer
	opts := f.opts()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.PingInterval = 5 * time.Millisecond
	ctx := testCtx(t)
	c, err := Dial(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Login(ctx, "tom", fakePassword)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if path, ok := holds(reflect.ValueOf(s), fakePassword, "Session", map[uintptr]bool{}); ok {
		t.Errorf("the session keeps the password at %s", path)
	}
	if _, ok := holds(reflect.ValueOf(s), fakeToken, "Session", map[uintptr]bool{}); !ok {
		t.Error("the walk does not find the session token, which the session keeps: it proves nothing")
	}
	if _, err := s.Status(ctx, "admin/m1"); err != nil {
		t.Fatal(err)
	}
	f.drop()
	waitDown(t, s)
	if err := s.EnableUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // a few pings
	s.Close()
	out := logs.String()
	if !strings.Contains(out, "session resumed") {
		t.Errorf("log has no resume: %s", out)
	}
	for _, secret := range []string{fakePassword, fakeToken} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds a secret: %s", out)
		}
	}
}

// holds reports whether v, followed through pointers, structs, slices and
// maps (not into other packages' types, nor channels or funcs), holds the
// string want, and where.
func holds(v reflect.Value, want, path string, seen map[uintptr]bool) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		return path, strings.Contains(v.String(), want)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		if v.Kind() == reflect.Pointer {
			if seen[v.Pointer()] {
				return "", false
			}
			seen[v.Pointer()] = true
		}
		return holds(v.Elem(), want, path, seen)
	case reflect.Struct:
		if pkg := v.Type().PkgPath(); pkg != "" && !strings.HasPrefix(pkg, "github.com/herd-project/herd") {
			return "", false // sync.Mutex, tls.Config, slog.Logger, ...
		}
		for i := range v.NumField() {
			if p, ok := holds(v.Field(i), want, path+"."+v.Type().Field(i).Name, seen); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if p, ok := holds(v.Index(i), want, path+"[]", seen); ok {
				return p, true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if p, ok := holds(it.Value(), want, path+"{}", seen); ok {
				return p, true
			}
		}
	}
	return "", false
}

// TestCloseLeavesNoGoroutines: Close stops the pingers and read loops of
// the controller and model connections.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	f := newFake(t)
	f.reply("ModelManager.ListModelSummaries", summariesJSON)
	f.reply("Client.FullStatus", fullStatusJSON)
	ctx := testCtx(t)
	before := runtime.NumGoroutine()
	c, err := Dial(ctx, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Login(ctx, "tom", fakePassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Status(ctx, "admin/m1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f.close() // the server's side of the connections
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}
