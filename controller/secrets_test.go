package controller_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/users"
)

// Nothing in the store file or in the log holds a password, a
// registration secret or a session token in clear.
func TestNoSecretsInFileOrLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := controller.Bootstrap(ctx, "c", controller.Options{Path: path, PasswordCost: bcrypt.MinCost, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	admin := b.Admin
	secrets := map[string]string{"admin's generated secret": b.Secret, "admin's session token": admin.Token()}
	must(t, admin.ChangePassword(ctx, "", "Admin-Password-1"))
	secrets["admin's password"] = "Admin-Password-1"
	added, err := admin.AddUser(ctx, "tom", "")
	must(t, err)
	tok, err := users.DecodeToken(added.Token)
	must(t, err)
	secrets["tom's registration token"] = added.Token
	secrets["tom's registration secret (base64)"] = base64.StdEncoding.EncodeToString(tok.SecretKey)
	secrets["tom's registration secret (hex)"] = hex.EncodeToString(tok.SecretKey)
	secrets["tom's registration secret (raw)"] = string(tok.SecretKey)
	tom, err := b.Controller.Register(ctx, added.Token, "Tom-Password-1")
	must(t, err)
	secrets["tom's password"] = "Tom-Password-1"
	secrets["tom's session token"] = tom.Token()
	_, err = b.Controller.Login(ctx, "tom", "wrong-Password-9") // a failed login is logged too
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	secrets["a wrong password"] = "wrong-Password-9"
	reset, err := admin.ResetPassword(ctx, "tom")
	must(t, err)
	secrets["tom's reset token"] = reset
	must(t, b.Controller.Close())

	file, err := os.ReadFile(path)
	must(t, err)
	if logs.Len() == 0 {
		t.Fatal("nothing was logged: the test would prove nothing")
	}
	for what, s := range secrets {
		if bytes.Contains(file, []byte(s)) {
			t.Errorf("the store file holds %s", what)
		}
		if bytes.Contains(logs.Bytes(), []byte(s)) {
			t.Errorf("the log holds %s", what)
		}
	}
}

// BenchmarkLoginWrongPassword and BenchmarkLoginUnknownUser must take the
// same time (at bcrypt's default cost), so that a failed login does not
// tell whether the name exists.
func BenchmarkLoginWrongPassword(b *testing.B) { benchLoginFailure(b, "tom") }
func BenchmarkLoginUnknownUser(b *testing.B)   { benchLoginFailure(b, "nobody") }

func benchLoginFailure(b *testing.B, name string) {
	ctx := context.Background()
	bs, err := controller.Bootstrap(ctx, "bench", controller.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Controller.Close()
	if err := bs.Admin.Batch(ctx, func(bt *controller.Batch) error {
		if _, err := bt.AddUser("tom", ""); err != nil {
			return err
		}
		return bt.SetPassword("tom", "the right password")
	}); err != nil {
		b.Fatal(err)
	}
	_, _ = bs.Controller.Login(ctx, "nobody", "warm up the dummy hash")
	for b.Loop() {
		if _, err := bs.Controller.Login(ctx, name, "a wrong password"); err == nil {
			b.Fatal("login succeeded")
		}
	}
}
