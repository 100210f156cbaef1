package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aa-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "averos-auth")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build averos-auth: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliEnv returns an environment for the binary with its own data directory
// and no AVEROS_AUTH_* or MONGODB_URI variables from the caller.
func cliEnv(dataDir string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AVEROS_AUTH_") || strings.HasPrefix(kv, "MONGODB_URI=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "AVEROS_AUTH_DATA_DIR="+dataDir)
	return append(env, extra...)
}

type runResult struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, env []string, stdin string, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return runResult{code: code, stdout: out.String(), stderr: errOut.String()}
}

func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "aa-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "data")
}

func TestExitCodes(t *testing.T) {
	env := cliEnv(shortTempDir(t))
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "missing command"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown flag", []string{"serve", "--no-such-flag"}, 2, "flag provided but not defined"},
		{"invalid configuration", []string{"serve", "--log.level", "loud", "--tokens.access-token-lifetime", "-1s"}, 2, "log.level"},
		{"missing required flag", []string{"users", "create", "--email", "a@example.com"}, 2, "--username and --email are required"},
		{"version", []string{"version"}, 0, ""},
		{"help", []string{"users", "create", "--help"}, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, "", tc.args...)
			if r.code != tc.code {
				t.Errorf("exit code = %d, want %d (stderr %q)", r.code, tc.code, r.stderr)
			}
			if tc.want != "" && !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tc.want)
			}
		})
	}
	// Every configuration problem is reported at once.
	r := runCLI(t, env, "", "serve", "--log.level", "loud", "--tokens.access-token-lifetime", "-1s")
	if !strings.Contains(r.stderr, "tokens.access-token-lifetime") {
		t.Errorf("stderr = %q, want both problems", r.stderr)
	}
}

func TestGroupHelpListsSubcommands(t *testing.T) {
	env := cliEnv(shortTempDir(t))
	cases := []struct {
		group string
		want  []string
	}{
		{"users", []string{"users create"}},
		{"roles", []string{"roles create"}},
		{"clients", []string{"clients create"}},
		{"keys", []string{"keys list", "keys rotate"}},
	}
	for _, tc := range cases {
		t.Run(tc.group, func(t *testing.T) {
			r := runCLI(t, env, "", tc.group, "--help")
			if r.code != 0 {
				t.Errorf("exit code = %d, want 0 (stderr %q)", r.code, r.stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout = %q, want it to contain %q", r.stdout, want)
				}
			}

			r = runCLI(t, env, "", tc.group)
			if r.code != 2 {
				t.Errorf("without a subcommand: exit code = %d, want 2", r.code)
			}
			if !strings.Contains(r.stderr, tc.want[0]) {
				t.Errorf("without a subcommand: stderr = %q, want it to contain %q", r.stderr, tc.want[0])
			}
		})
	}
}

// startServer runs "averos-auth serve" on a free port and returns its base
// URL, the process, and a reader of its log lines.
func startServer(t *testing.T, env []string) (string, *exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--listen", "127.0.0.1:0", "--issuer", "http://localhost:8080")
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })

	logs := &syncBuffer{}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logs.write(line + "\n")
			var entry struct {
				Msg    string `json:"msg"`
				Listen string `json:"listen"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "averos-auth starting" {
				addr <- entry.Listen
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a, cmd, logs
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not log its address; log:\n%s", logs)
		return "", nil, nil
	}
}

func TestServeAndCLIAgainstRunningServer(t *testing.T) {
	dataDir := shortTempDir(t)
	env := cliEnv(dataDir)
	base, cmd, logs := startServer(t, env)

	waitReady(t, base)

	// The CLI works through the running server's engine.
	r := runCLI(t, env, "Sup3rSecret\n", "users", "create", "--username", "ada", "--email", "ada@example.com")
	if r.code != 0 || !strings.Contains(r.stdout, "created user ada") {
		t.Fatalf("users create: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, env, "Sup3rSecret\n", "users", "create", "--username", "ADA", "--email", "other@example.com")
	if r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("duplicate user: code %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, env, "weak\n", "users", "create", "--username", "bob", "--email", "bob@example.com")
	if r.code != 2 || !strings.Contains(r.stderr, "password must") {
		t.Errorf("weak password: code %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, env, "", "clients", "create", "--id", "svc", "--grant", "client_credentials", "--json")
	if r.code != 0 {
		t.Fatalf("clients create: code %d, stderr %q", r.code, r.stderr)
	}
	var created struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil {
		t.Fatalf("clients create output %q: %v", r.stdout, err)
	}
	if created.ClientID != "svc" || len(created.ClientSecret) < 43 {
		t.Errorf("created client = %+v", created)
	}

	// The README's first session: a client and a user from the CLI, then a
	// token from the password grant with client_secret_basic.
	r = runCLI(t, env, "", "clients", "create", "--id", "demo-app", "--grant", "password,refresh_token",
		"--scope", "openid,profile,email,roles,offline_access", "--json")
	if r.code != 0 {
		t.Fatalf("clients create demo-app: code %d, stderr %q", r.code, r.stderr)
	}
	var demo struct {
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &demo); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"password"}, "username": {"ADA"}, "password": {"Sup3rSecret"},
		"scope": {"openid profile email offline_access"}}
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("demo-app", demo.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token: status %d, err %v", resp.StatusCode, err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.IDToken == "" {
		t.Errorf("token response lacks a token: %+v", tok)
	}

	// keys list and keys rotate work beside the running server.
	r = runCLI(t, env, "", "keys", "list")
	if r.code != 0 || strings.Count(r.stdout, "active") != 1 {
		t.Errorf("keys list: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, env, "", "keys", "rotate")
	if r.code != 0 || !strings.Contains(r.stdout, "created signing key") || strings.Contains(r.stderr, "already pending") {
		t.Errorf("keys rotate: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, env, "", "keys", "list")
	if !strings.Contains(r.stdout, "pending") {
		t.Errorf("keys list after rotate has no pending key: %q", r.stdout)
	}
	// A second rotation while a key is pending succeeds with a warning.
	r = runCLI(t, env, "", "keys", "rotate")
	if r.code != 0 || !strings.Contains(r.stderr, "was already pending") {
		t.Errorf("second keys rotate: code %d, stderr %q", r.code, r.stderr)
	}

	for _, secret := range []string{created.ClientSecret, demo.ClientSecret, "Sup3rSecret", tok.RefreshToken, tok.AccessToken} {
		if strings.Contains(logs.String(), secret) {
			t.Error("the server log contains a secret or token")
		}
	}

	// SIGTERM stops the server cleanly.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM; log:\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}

	// With the server gone, the CLI opens the engine itself and finds the data.
	r = runCLI(t, env, "Sup3rSecret\n", "users", "create", "--username", "ada", "--email", "x@example.com")
	if r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("user created while the server ran is missing: code %d, stderr %q", r.code, r.stderr)
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %s not ready", base)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSecondServerOnSameDataDirFails(t *testing.T) {
	dataDir := shortTempDir(t)
	env := cliEnv(dataDir)
	base, _, _ := startServer(t, env)
	waitReady(t, base)
	r := runCLI(t, env, "", "serve", "--listen", "127.0.0.1:0", "--issuer", "http://localhost:8080")
	if r.code != 1 || !strings.Contains(r.stderr, "in use by another process") {
		t.Errorf("second serve: code %d, stderr %q", r.code, r.stderr)
	}
}

// syncBuffer collects the server's log lines from its reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) write(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runInProcess runs the command line in this process, for commands that stop
// before they open storage.
func runInProcess(t *testing.T, environ []string, args ...string) runResult {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, environ: environ})
	return runResult{code: code, stdout: out.String(), stderr: errOut.String()}
}

func TestRequestedHelpGoesToStdout(t *testing.T) {
	environ := cliEnv(shortTempDir(t))
	commands := [][]string{
		{"serve"}, {"users", "create"}, {"roles", "create"}, {"clients", "create"}, {"keys", "list"}, {"keys", "rotate"},
	}
	for _, command := range commands {
		for _, help := range []string{"--help", "-h"} {
			name := strings.Join(command, " ")
			t.Run(name+" "+help, func(t *testing.T) {
				r := runInProcess(t, environ, append(command, help)...)
				if r.code != 0 {
					t.Errorf("exit code = %d, want 0", r.code)
				}
				if !strings.HasPrefix(r.stdout, "Usage: averos-auth "+name+" [flags]") {
					t.Errorf("stdout = %.80q..., want the usage of %s", r.stdout, name)
				}
				if r.stderr != "" {
					t.Errorf("stderr = %q, want nothing", r.stderr)
				}
			})
		}
	}

	// A usage error keeps its message on stderr and prints no help.
	r := runInProcess(t, environ, "serve", "--no-such-flag")
	if r.code != 2 {
		t.Errorf("unknown flag: exit code = %d, want 2", r.code)
	}
	if r.stdout != "" {
		t.Errorf("unknown flag: stdout = %q, want nothing", r.stdout)
	}
}

func TestServeHelpNamesValues(t *testing.T) {
	r := runInProcess(t, cliEnv(shortTempDir(t)), "serve", "--help")
	for _, want := range []string{
		"  --listen host:port\n",
		"  --cors.allowed-origins list\n",
		"  --http.shutdown-timeout duration\n",
		"  --keys.rsa-bits int\n",
		"  --config file\n",
		"  --metrics.enabled\n",
		"Flags (a flag overrides the same option from --config FILE and from AVEROS_AUTH_* variables):",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("serve --help does not contain %q", want)
		}
	}
	if strings.Contains(r.stdout, "the same as serve") {
		t.Error("serve --help calls its own flags \"the same as serve\"")
	}

	r = runInProcess(t, cliEnv(shortTempDir(t)), "clients", "create", "--help")
	for _, want := range []string{
		"  --grant list\n",
		"  --id string\n",
		"  --access-token-lifetime duration\n",
		"Configuration flags (the same as serve;",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("clients create --help does not contain %q", want)
		}
	}
}

func TestUnexpectedArgumentAfterListFlag(t *testing.T) {
	environ := cliEnv(shortTempDir(t))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"own list flag", []string{"clients", "create", "--id", "x", "--scope", "openid", "profile"},
			`unexpected argument "profile" after --scope openid: separate values with commas, as in --scope openid,profile`},
		{"name=value form", []string{"clients", "create", "--id", "x", "--grant=password", "refresh_token"},
			"separate values with commas, as in --grant password,refresh_token"},
		{"configuration list flag", []string{"serve", "--cors.allowed-origins", "http://a.example", "http://b.example"},
			"separate values with commas, as in --cors.allowed-origins http://a.example,http://b.example"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(t, environ, tc.args...)
			if r.code != 2 {
				t.Errorf("exit code = %d, want 2", r.code)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tc.want)
			}
		})
	}

	// After a flag that is not a list, commas would not help.
	r := runInProcess(t, environ, "clients", "create", "--id", "x", "extra")
	if !strings.Contains(r.stderr, `unexpected argument "extra"`) {
		t.Errorf("stderr = %q, want the unexpected argument", r.stderr)
	}
	if strings.Contains(r.stderr, "commas") {
		t.Errorf("stderr = %q suggests commas after --id", r.stderr)
	}
}

func TestPasswordFlagPointsToStandardInput(t *testing.T) {
	for _, arg := range []string{"--password", "--password=x"} {
		r := runInProcess(t, cliEnv(shortTempDir(t)), "users", "create", "--username", "ada", "--email", "ada@example.com", arg, "x")
		if r.code != 2 {
			t.Errorf("%s: exit code = %d, want 2", arg, r.code)
		}
		if !strings.Contains(r.stderr, "the password is read from standard input") {
			t.Errorf("%s: stderr = %q, want the hint about standard input", arg, r.stderr)
		}
	}
}

func TestNameFlagInProblems(t *testing.T) {
	fields := map[string]flagInput{
		"grant_types": {flag: "grant", values: []string{"password", "implicit"}},
		"userName":    {flag: "username"},
	}
	cases := []struct{ problem, want string }{
		{"grant_types[1] must be one of: password, refresh_token", `--grant "implicit" must be one of: password, refresh_token`},
		{"grant_types must not contain duplicates", "--grant must not contain duplicates"},
		{"grant_types: a public client cannot use client_credentials", "--grant: a public client cannot use client_credentials"},
		{"grant_types[5] must be one of: password", "--grant must be one of: password"},
		{"userName must be 3 to 64 characters", "--username must be 3 to 64 characters"},
		{"password must be at least 8 characters", "password must be at least 8 characters"},
	}
	for _, tc := range cases {
		if got := nameFlag(tc.problem, fields); got != tc.want {
			t.Errorf("nameFlag(%q) = %q, want %q", tc.problem, got, tc.want)
		}
	}
}

// secretEnv returns the environment of the binary with AVEROS_AUTH_SYSTEM_SECRET
// set to secret.
func secretEnv(dataDir, secret string) []string {
	return cliEnv(dataDir, "AVEROS_AUTH_SYSTEM_SECRET="+secret)
}

func TestValidationErrorsNameFlags(t *testing.T) {
	environ := secretEnv(shortTempDir(t), strings.Repeat("v", 40))
	r := runCLI(t, environ, "", "clients", "create", "--id", "x", "--grant", "password,implicit")
	if r.code != 2 {
		t.Errorf("clients create: exit code = %d, want 2", r.code)
	}
	if !strings.Contains(r.stderr, `--grant "implicit" must be one of`) {
		t.Errorf("clients create: stderr = %q, want the --grant flag and its value", r.stderr)
	}
	if strings.Contains(r.stderr, "grant_types") {
		t.Errorf("clients create: stderr = %q names the API field", r.stderr)
	}

	r = runCLI(t, environ, "Sup3rSecret\n", "users", "create", "--username", "a b", "--email", "ada@example.com")
	if !strings.Contains(r.stderr, "--username must be") {
		t.Errorf("users create: stderr = %q, want the --username flag", r.stderr)
	}
}

// A CLI command run without the server's system secret must not generate a
// new one for a store that has data, and a wrong secret must be rejected
// before anything is written.
func TestCLIRequiresServerSecret(t *testing.T) {
	dataDir := shortTempDir(t)
	serverSecret := strings.Repeat("s", 40)
	base, server, _ := startServer(t, secretEnv(dataDir, serverSecret))
	waitReady(t, base)
	secretFile := filepath.Join(dataDir, "system-secret")

	for _, args := range [][]string{
		{"clients", "create", "--id", "svc", "--grant", "client_credentials"},
		{"keys", "rotate"},
	} {
		r := runCLI(t, cliEnv(dataDir), "", args...)
		if r.code != 2 {
			t.Errorf("%v without a secret: exit code = %d, want 2", args, r.code)
		}
		for _, want := range []string{"missing system secret", "AVEROS_AUTH_SYSTEM_SECRET", "system-secret in the configuration file"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%v without a secret: stderr = %q, want it to contain %q", args, r.stderr, want)
			}
		}
		if strings.Contains(r.stdout, "client_secret") || strings.Contains(r.stdout, "created signing key") {
			t.Errorf("%v without a secret: stdout = %q, want nothing created", args, r.stdout)
		}
		if _, err := os.Stat(secretFile); !os.IsNotExist(err) {
			t.Fatalf("%v without a secret left %s behind (stat error %v)", args, secretFile, err)
		}
	}

	r := runCLI(t, secretEnv(dataDir, strings.Repeat("w", 40)), "", "clients", "create", "--id", "svc", "--grant", "client_credentials")
	if r.code != 2 {
		t.Errorf("wrong secret: exit code = %d, want 2", r.code)
	}
	for _, want := range []string{"invalid system secret", "cannot decrypt signing key", "Run the command with the server's secret"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("wrong secret: stderr = %q, want it to contain %q", r.stderr, want)
		}
	}

	// With the server's configuration file the client works, which also
	// shows that the rejected runs created no client "svc".
	config := filepath.Join(filepath.Dir(dataDir), "conf.yaml")
	if err := os.WriteFile(config, []byte("system-secret: "+serverSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, cliEnv(dataDir), "", "clients", "create", "--config", config, "--id", "svc", "--grant", "client_credentials", "--json")
	if r.code != 0 {
		t.Fatalf("clients create --config: code %d, stderr %q", r.code, r.stderr)
	}
	var created struct {
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil {
		t.Fatalf("clients create output %q: %v", r.stdout, err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", created.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("client_credentials token with the CLI-created client: status %d, want 200", resp.StatusCode)
	}

	// serve with another secret stops, and its error names the secret to
	// start with.
	if err := server.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = server.Wait()
	r = runCLI(t, secretEnv(dataDir, strings.Repeat("w", 40)), "", "serve", "--listen", "127.0.0.1:0", "--issuer", "http://localhost:8080")
	if r.code == 0 {
		t.Error("serve with another secret: exit code 0")
	}
	for _, want := range []string{"cannot decrypt signing key", "Start the server with the secret this data was created with",
		"AVEROS_AUTH_SYSTEM_SECRET", "system-secret in the configuration file", secretFile} {
		if !strings.Contains(r.stderr, "averos-auth: ") || !strings.Contains(r.stderr, want) {
			t.Errorf("serve with another secret: stderr does not contain %q:\n%s", want, r.stderr)
		}
	}
}

// Before the first serve, a CLI command creates the data directory with a
// notice on stderr, and generates the secret that serve then reads.
func TestCLIBootstrapBeforeFirstServe(t *testing.T) {
	dataDir := shortTempDir(t)
	environ := cliEnv(dataDir)
	r := runCLI(t, environ, "Sup3rSecret\n", "users", "create", "--username", "ada", "--email", "ada@example.com")
	if r.code != 0 {
		t.Fatalf("users create: code %d, stderr %q", r.code, r.stderr)
	}
	if want := "data directory " + dataDir + " does not exist"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", r.stderr, want)
	}
	if want := "a new secret was generated and stored in " + filepath.Join(dataDir, "system-secret"); !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", r.stderr, want)
	}

	r = runCLI(t, environ, "", "roles", "create", "--name", "admin")
	if r.code != 0 {
		t.Fatalf("roles create: code %d, stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "does not exist") || strings.Contains(r.stderr, "generated") {
		t.Errorf("second command: stderr = %q, want no notice", r.stderr)
	}

	base, _, logs := startServer(t, environ)
	waitReady(t, base)
	if !strings.Contains(logs.String(), "so it is read from "+filepath.Join(dataDir, "system-secret")) {
		t.Errorf("serve did not read the secret that the CLI generated; log:\n%s", logs)
	}
	r = runCLI(t, environ, "", "keys", "list")
	if r.code != 0 {
		t.Errorf("keys list beside the server: code %d, stderr %q", r.code, r.stderr)
	}
}

// On a first start, the log reports that the secret was generated and not
// that it was read from the file.
func TestServeFirstStartLogsGeneratedSecret(t *testing.T) {
	dataDir := shortTempDir(t)
	_, _, logs := startServer(t, cliEnv(dataDir))
	log := logs.String()
	if !strings.Contains(log, "a new secret was generated and stored in "+filepath.Join(dataDir, "system-secret")) {
		t.Errorf("log does not report the generated secret:\n%s", log)
	}
	if strings.Contains(log, "is read from") {
		t.Errorf("log says the new secret was read from the file:\n%s", log)
	}
}
