package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/password"
)

func usersCreate(ctx context.Context, args []string, e env) error {
	cmd := newCommand("users create", "Create a user. The password is read from standard input "+
		"(first line), or prompted for twice on a terminal; it is never taken as an argument.", e)
	userName := cmd.ownString("username", "user name (3 to 64 characters, no spaces, '@' or '/')")
	email := cmd.ownString("email", "email address")
	first := cmd.ownString("first-name", "first name")
	last := cmd.ownString("last-name", "last name")
	roles := cmd.ownList("role", "role name to assign; repeat or separate with commas (roles must exist)")
	verified := cmd.ownBool("verified", "mark the account as verified (email confirmed)")
	cmd.undefinedFlagHints = map[string]string{
		"password": "the password is read from standard input, never from a flag: " +
			"pipe it in, as in printf '%s\\n' \"$PASSWORD\" | averos-auth users create ..., " +
			"or type it at the prompt on a terminal",
	}
	cfg, err := cmd.parse(args, e.environ)
	if err != nil {
		return err
	}
	if *userName == "" || *email == "" {
		return usagef("users create: --username and --email are required")
	}
	pw, err := readPassword(e)
	if err != nil {
		return err
	}

	st, err := openForCLI(ctx, cfg, e)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close(context.WithoutCancel(ctx)) }()
	hasher, err := password.NewHasher(password.Params{
		MemoryKiB:   uint32(cfg.Password.Argon2.MemoryKiB),
		Iterations:  uint32(cfg.Password.Argon2.Iterations),
		Parallelism: uint8(cfg.Password.Argon2.Parallelism),
	})
	if err != nil {
		return usageError{err}
	}
	users := accounts.NewUsers(st.Store, hasher, cfg.Password.MinLength)
	u, err := users.Create(ctx, accounts.NewUser{
		UserName: *userName, Email: *email, Password: pw,
		FirstName: *first, LastName: *last, Roles: *roles, AccountVerified: *verified,
	})
	if err != nil {
		return explain(err, map[string]flagInput{
			"userName": {flag: "username"}, "email": {flag: "email"},
			"firstName": {flag: "first-name"}, "lastName": {flag: "last-name"},
			"roles": {flag: "role", values: *roles},
		})
	}
	fmt.Fprintf(e.stdout, "created user %s with id %s\n", u.UserName, u.ID)
	return nil
}

// readPassword prompts twice without echo on a terminal, and otherwise
// reads the first line of standard input.
func readPassword(e env) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "Password: ")
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(e.stderr, "Repeat password: ")
		second, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(first) != string(second) {
			return "", usagef("the two passwords differ")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("no password on standard input (pipe it in, e.g. printf '%%s\\n' \"$PASSWORD\" | averos-auth users create ...)")
	}
	return line, nil
}

func rolesCreate(ctx context.Context, args []string, e env) error {
	cmd := newCommand("roles create", "Create a role.", e)
	name := cmd.ownString("name", "role name (1 to 64 characters)")
	desc := cmd.ownString("description", "what the role allows")
	cfg, err := cmd.parse(args, e.environ)
	if err != nil {
		return err
	}
	if *name == "" {
		return usagef("roles create: --name is required")
	}
	st, err := openForCLI(ctx, cfg, e)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close(context.WithoutCancel(ctx)) }()
	role, err := accounts.NewRoles(st.Store).Create(ctx, accounts.NewRole{Name: *name, Description: *desc})
	if err != nil {
		return explain(err, map[string]flagInput{"name": {flag: "name"}, "description": {flag: "description"}})
	}
	fmt.Fprintf(e.stdout, "created role %s with id %s\n", role.Name, role.ID)
	return nil
}

func clientsCreate(ctx context.Context, args []string, e env) error {
	cmd := newCommand("clients create", "Register an OAuth client. A confidential client's secret "+
		"is printed once; only its hash is stored.", e)
	id := cmd.ownString("id", "client ID (1 to 128 characters from A-Z a-z 0-9 . _ ~ -)")
	name := cmd.ownString("name", "display name")
	grants := cmd.ownList("grant", "allowed grant type: password, refresh_token or client_credentials; repeat or separate with commas")
	scopes := cmd.ownList("scope", "allowed scope, e.g. openid, profile, email, roles, offline_access; repeat or separate with commas")
	audiences := cmd.ownList("audience", "allowed audience; repeat or separate with commas")
	origins := cmd.ownList("cors-origin", "origin allowed to call the server from a browser; repeat or separate with commas")
	public := cmd.ownBool("public", "register a public client (no secret; cannot use client_credentials)")
	introspect := cmd.ownBool("introspect-any", "let the client introspect tokens issued to other clients")
	access := cmd.fs.Duration("access-token-lifetime", 0, "access token lifetime for this client (duration; 0 uses the server default)")
	refresh := cmd.fs.Duration("refresh-token-lifetime", 0, "refresh token lifetime for this client (duration; 0 uses the server default)")
	cmd.own = append(cmd.own, "access-token-lifetime", "refresh-token-lifetime")
	asJSON := cmd.ownBool("json", "print the client and its secret as JSON")
	cfg, err := cmd.parse(args, e.environ)
	if err != nil {
		return err
	}
	if *id == "" || len(*grants) == 0 {
		return usagef("clients create: --id and at least one --grant are required")
	}
	st, err := openForCLI(ctx, cfg, e)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close(context.WithoutCancel(ctx)) }()
	svc, err := accounts.NewClients(st.Store, cfg.SystemSecret, nil)
	if err != nil {
		return usageError{err}
	}
	c, secret, err := svc.Create(ctx, accounts.ClientSpec{
		ID: *id, Name: *name, Public: *public, GrantTypes: *grants, Scopes: *scopes,
		Audiences: *audiences, CORSOrigins: *origins, IntrospectAny: *introspect,
		AccessTokenLifetime: *access, RefreshTokenLifetime: *refresh,
	})
	if err != nil {
		return explain(err, map[string]flagInput{
			"client_id": {flag: "id"}, "client_name": {flag: "name"},
			"grant_types": {flag: "grant", values: *grants}, "scopes": {flag: "scope", values: *scopes},
			"audiences": {flag: "audience", values: *audiences}, "cors_origins": {flag: "cors-origin", values: *origins},
			"public": {flag: "public"}, "introspect_any": {flag: "introspect-any"},
			"access_token_lifetime":  {flag: "access-token-lifetime"},
			"refresh_token_lifetime": {flag: "refresh-token-lifetime"},
		})
	}
	if *asJSON {
		out := map[string]any{"client_id": c.ID, "grant_types": c.GrantTypes, "scopes": c.Scopes, "public": c.Public}
		if secret != "" {
			out["client_secret"] = secret
		}
		return json.NewEncoder(e.stdout).Encode(out)
	}
	fmt.Fprintf(e.stdout, "client_id:     %s\n", c.ID)
	if secret != "" {
		fmt.Fprintf(e.stdout, "client_secret: %s\n", secret)
		fmt.Fprintln(e.stderr, "Store the secret now: it is not shown again.")
	}
	return nil
}
