package accounts_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/password"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
)

func TestMain(m *testing.M) { os.Exit(storagetest.Main(m)) }

const systemSecret = "test-system-secret-0123456789abcdef"

func newUsers(t *testing.T) (*accounts.Users, *storage.Store, *password.Hasher) {
	t.Helper()
	s := storagetest.New(t)
	h, err := password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	return accounts.NewUsers(s, h, 8), s, h
}

func validUser() accounts.NewUser {
	return accounts.NewUser{UserName: "ada", Email: "ada@example.com", Password: "Analytical1", FirstName: "Ada"}
}

func TestCreateUserStoresHash(t *testing.T) {
	users, s, h := newUsers(t)
	u, err := users.Create(context.Background(), validUser())
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Users.Get(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.PasswordHash == "Analytical1" || !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
		t.Errorf("password stored as %q, want an argon2id hash", stored.PasswordHash)
	}
	if err := h.Verify(stored.PasswordHash, "Analytical1"); err != nil {
		t.Errorf("stored hash does not verify: %v", err)
	}
	if stored.AccountVerified {
		t.Error("new user is verified")
	}
}

func TestCreateUserRejectsInput(t *testing.T) {
	cases := []struct {
		name   string
		change func(*accounts.NewUser)
		want   string
	}{
		{"missing user name", func(u *accounts.NewUser) { u.UserName = "" }, "userName is required"},
		{"short user name", func(u *accounts.NewUser) { u.UserName = "ab" }, "userName must be 3 to 64"},
		{"user name with at sign", func(u *accounts.NewUser) { u.UserName = "a@b" }, "userName must be 3 to 64"},
		{"user name with slash", func(u *accounts.NewUser) { u.UserName = "a/bc" }, "userName must be 3 to 64"},
		{"bad email", func(u *accounts.NewUser) { u.Email = "not-an-email" }, "email must be a valid email"},
		{"short password", func(u *accounts.NewUser) { u.Password = "Ab1" }, "at least 8 characters"},
		{"no digit", func(u *accounts.NewUser) { u.Password = "Abcdefghij" }, "upper-case letter, a lower-case letter and a digit"},
		{"no upper case", func(u *accounts.NewUser) { u.Password = "abcdefgh1" }, "upper-case letter"},
		{"password equals user name", func(u *accounts.NewUser) { u.UserName = "Password1"; u.Password = "pASSWORD1" }, "must not equal the user name"},
		{"bad gender", func(u *accounts.NewUser) { u.Gender = "Other" }, "gender must be one of: Male, Female"},
		{"control character", func(u *accounts.NewUser) { u.FirstName = "A\x00" }, "firstName must not contain control characters"},
		{"unknown role", func(u *accounts.NewUser) { u.Roles = []string{"ghost"} }, `role "ghost" does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			users, s, _ := newUsers(t)
			in := validUser()
			tc.change(&in)
			_, err := users.Create(context.Background(), in)
			var ve *accounts.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
			list, _ := s.Users.List(context.Background(), nil, 10)
			if len(list) != 0 {
				t.Errorf("rejected input stored %d users", len(list))
			}
		})
	}
}

func TestCreateUserDuplicate(t *testing.T) {
	users, _, _ := newUsers(t)
	if _, err := users.Create(context.Background(), validUser()); err != nil {
		t.Fatal(err)
	}
	in := validUser()
	in.Email = "other@example.com"
	in.UserName = "ADA"
	_, err := users.Create(context.Background(), in)
	var exists *storage.AlreadyExistsError
	if !errors.As(err, &exists) || exists.Field != "userName" {
		t.Errorf("err = %v, want user name taken", err)
	}
}

func TestSetPasswordAndRevoke(t *testing.T) {
	users, s, h := newUsers(t)
	ctx := context.Background()
	u, err := users.Create(ctx, validUser())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.SetPassword(ctx, u.ID, "weak", ""); err == nil {
		t.Error("weak password accepted")
	}
	if _, err := users.SetPassword(ctx, u.ID, "Difference2", ""); err != nil {
		t.Fatal(err)
	}
	stored, _ := s.Users.Get(ctx, u.ID)
	if h.Verify(stored.PasswordHash, "Difference2") != nil {
		t.Error("new password does not verify")
	}
	before := stored.TokensValidAfter
	if err := users.RevokeTokens(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	stored, _ = s.Users.Get(ctx, u.ID)
	if !stored.TokensValidAfter.After(before) {
		t.Errorf("TokensValidAfter = %v, want after %v", stored.TokensValidAfter, before)
	}
}

func TestClientSecrets(t *testing.T) {
	s := storagetest.New(t)
	ctx := context.Background()
	clients, err := accounts.NewClients(s, systemSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, secret, err := clients.Create(ctx, accounts.ClientSpec{ID: "api", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) < 43 {
		t.Errorf("secret length = %d, want >= 43 (256 bits)", len(secret))
	}
	stored, _ := s.Clients.Get(ctx, "api")
	if stored.SecretHash == secret || strings.Contains(stored.SecretHash, secret) {
		t.Error("secret stored in clear")
	}
	if !clients.VerifySecret(c, secret) {
		t.Error("secret does not verify")
	}
	newSecret, err := clients.RotateSecret(ctx, "api")
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = s.Clients.Get(ctx, "api")
	if clients.VerifySecret(stored, secret) {
		t.Error("old secret still verifies after rotation")
	}
	if !clients.VerifySecret(stored, newSecret) {
		t.Error("new secret does not verify")
	}
	if err := clients.Delete(ctx, "api"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Clients.Get(ctx, "api"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted client readable: %v", err)
	}
}

func TestClientSpecRejected(t *testing.T) {
	s := storagetest.New(t)
	clients, _ := accounts.NewClients(s, systemSecret, nil)
	cases := []struct {
		name string
		spec accounts.ClientSpec
		want string
	}{
		{"no grant", accounts.ClientSpec{ID: "a"}, "grant_types is required"},
		{"unknown grant", accounts.ClientSpec{ID: "a", GrantTypes: []string{"implicit"}}, "grant_types[0] must be one of"},
		{"bad id", accounts.ClientSpec{ID: "a b", GrantTypes: []string{"password"}}, "client_id must be 1 to 128"},
		{"public client credentials", accounts.ClientSpec{ID: "a", Public: true, GrantTypes: []string{"client_credentials"}}, "public client cannot use client_credentials"},
		{"origin with path", accounts.ClientSpec{ID: "a", GrantTypes: []string{"password"}, CORSOrigins: []string{"https://x.example/app"}}, "must be an origin"},
		{"scope with space", accounts.ClientSpec{ID: "a", GrantTypes: []string{"password"}, Scopes: []string{"a b"}}, "scopes[0] must be a scope token"},
		{"user id form", accounts.ClientSpec{ID: storage.NewID(), GrantTypes: []string{"client_credentials"}}, "must not have the form of a user ID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := clients.Create(context.Background(), tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
			if _, err := s.Clients.Get(context.Background(), tc.spec.ID); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("rejected client stored: %v", err)
			}
		})
	}
}

func TestRoleCreate(t *testing.T) {
	s := storagetest.New(t)
	roles := accounts.NewRoles(s)
	if _, err := roles.Create(context.Background(), accounts.NewRole{Name: "admin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := roles.Create(context.Background(), accounts.NewRole{Name: "admin"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("duplicate role: err = %v", err)
	}
	if _, err := roles.Create(context.Background(), accounts.NewRole{Name: ""}); err == nil {
		t.Error("empty role name accepted")
	}
}
