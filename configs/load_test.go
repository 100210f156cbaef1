package configs

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeFile writes content to a new file in a test directory and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "averos-auth.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// parseFlags binds the configuration flags on a new flag set and parses args.
func parseFlags(t *testing.T, args ...string) *Flags {
	t.Helper()
	fs := flag.NewFlagSet("averos-auth", flag.ContinueOnError)
	flags := BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return flags
}

func mustLoad(t *testing.T, flags *Flags, environ []string) *Config {
	t.Helper()
	cfg, err := Load(flags, environ)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, `
averos:
  client-id: from-file
tokens:
  access-token-lifetime: 20m
cors:
  allowed-origins: [https://file.example.com]
`)
	env := []string{
		"AVEROS_AUTH_AVEROS_CLIENT_ID=from-env",
		"AVEROS_AUTH_TOKENS_ACCESS_TOKEN_LIFETIME=30m",
		"AVEROS_AUTH_CORS_ALLOWED_ORIGINS=https://env1.example.com, https://env2.example.com",
	}
	flagArgs := []string{
		"--averos.client-id=from-flag",
		"--tokens.access-token-lifetime=40m",
		"--cors.allowed-origins=https://flag.example.com",
	}

	tests := []struct {
		name     string
		args     []string
		environ  []string
		clientID string
		lifetime time.Duration
		origins  []string
	}{
		{"default", nil, nil, "averos-web", 15 * time.Minute, []string{}},
		{"file over default", []string{"--config", file}, nil,
			"from-file", 20 * time.Minute, []string{"https://file.example.com"}},
		{"environment over file", []string{"--config", file}, env,
			"from-env", 30 * time.Minute, []string{"https://env1.example.com", "https://env2.example.com"}},
		{"flag over environment", append([]string{"--config", file}, flagArgs...), env,
			"from-flag", 40 * time.Minute, []string{"https://flag.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, parseFlags(t, tt.args...), tt.environ)
			if cfg.Averos.ClientID != tt.clientID {
				t.Errorf("averos.client-id = %q, want %q", cfg.Averos.ClientID, tt.clientID)
			}
			if cfg.Tokens.AccessTokenLifetime != tt.lifetime {
				t.Errorf("tokens.access-token-lifetime = %v, want %v", cfg.Tokens.AccessTokenLifetime, tt.lifetime)
			}
			if !slices.Equal(cfg.CORS.AllowedOrigins, tt.origins) {
				t.Errorf("cors.allowed-origins = %q, want %q", cfg.CORS.AllowedOrigins, tt.origins)
			}
		})
	}
}

func TestLoadUnsetFlagKeepsEnvironment(t *testing.T) {
	// Flags that are registered but not given must not reset values to the default.
	cfg := mustLoad(t, parseFlags(t, "--log.level=debug"), []string{"AVEROS_AUTH_LOG_FORMAT=console"})
	if cfg.Log.Format != "console" {
		t.Errorf("log.format = %q, want console from the environment", cfg.Log.Format)
	}
	if cfg.Log.Level != "debug" {
		t.Errorf("log.level = %q, want debug from the flag", cfg.Log.Level)
	}
}

func TestLoadConfigPathFromEnvironment(t *testing.T) {
	file := writeFile(t, "log:\n  level: warn\n")
	other := writeFile(t, "log:\n  level: error\n")

	cfg := mustLoad(t, nil, []string{"AVEROS_AUTH_CONFIG=" + file})
	if cfg.Log.Level != "warn" {
		t.Errorf("log.level = %q, want warn from AVEROS_AUTH_CONFIG", cfg.Log.Level)
	}
	if cfg.File != file {
		t.Errorf("File = %q, want %q", cfg.File, file)
	}

	cfg = mustLoad(t, parseFlags(t, "--config="+other), []string{"AVEROS_AUTH_CONFIG=" + file})
	if cfg.Log.Level != "error" {
		t.Errorf("log.level = %q, want error from the --config file", cfg.Log.Level)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(nil, []string{"AVEROS_AUTH_CONFIG=" + filepath.Join(t.TempDir(), "absent.yaml")})
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Errorf("Load = %v, want an error naming absent.yaml", err)
	}
}

func TestLoadEmptyFile(t *testing.T) {
	cfg := mustLoad(t, nil, []string{"AVEROS_AUTH_CONFIG=" + writeFile(t, "")})
	if cfg.Listen != Default().Listen {
		t.Errorf("listen = %q, want the default", cfg.Listen)
	}
}

func TestLoadBoolAndRepeatedListFlags(t *testing.T) {
	flags := parseFlags(t, "--metrics.enabled=false", "--averos.cookie-secure=false",
		"--cors.allowed-origins=https://a.example.com", "--cors.allowed-origins=https://b.example.com")
	cfg := mustLoad(t, flags, []string{"AVEROS_AUTH_METRICS_ENABLED=true"})

	if cfg.Metrics.Enabled {
		t.Error("metrics.enabled = true, want false from the flag")
	}
	if cfg.Averos.CookieSecure {
		t.Error("averos.cookie-secure = true, want false from the flag")
	}
	want := []string{"https://a.example.com", "https://b.example.com"}
	if !slices.Equal(cfg.CORS.AllowedOrigins, want) {
		t.Errorf("cors.allowed-origins = %q, want %q", cfg.CORS.AllowedOrigins, want)
	}
}

func TestLoadFlagRejectsInvalidDuration(t *testing.T) {
	fs := flag.NewFlagSet("averos-auth", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	BindFlags(fs)
	err := fs.Parse([]string{"--tokens.access-token-lifetime=soon"})
	if err == nil || !strings.Contains(err.Error(), "tokens.access-token-lifetime") {
		t.Errorf("Parse = %v, want an error naming the flag", err)
	}
}

func TestLoadMongoDBURIEnvironment(t *testing.T) {
	const standard = "mongodb://standard.localhost:27017"
	const own = "mongodb://own.localhost:27017"
	tests := []struct {
		name    string
		environ []string
		want    string
	}{
		{"none", nil, ""},
		{"MONGODB_URI", []string{"MONGODB_URI=" + standard}, standard},
		{"AVEROS_AUTH_MONGODB_URI", []string{"AVEROS_AUTH_MONGODB_URI=" + own}, own},
		{"both", []string{"AVEROS_AUTH_MONGODB_URI=" + own, "MONGODB_URI=" + standard}, own},
		{"both reversed", []string{"MONGODB_URI=" + standard, "AVEROS_AUTH_MONGODB_URI=" + own}, own},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, nil, tt.environ)
			if cfg.MongoDBURI != tt.want {
				t.Errorf("mongodb-uri = %q, want %q", cfg.MongoDBURI, tt.want)
			}
		})
	}

	file := writeFile(t, "mongodb-uri: mongodb://file.localhost\n")
	cfg := mustLoad(t, nil, []string{"AVEROS_AUTH_CONFIG=" + file, "MONGODB_URI=" + standard})
	if cfg.MongoDBURI != standard {
		t.Errorf("mongodb-uri = %q, want MONGODB_URI over the file", cfg.MongoDBURI)
	}
}

func TestLoadRejectsUnknownYAMLKey(t *testing.T) {
	file := writeFile(t, "listen: 127.0.0.1:8080\ntokens:\n  acess-token-lifetime: 5m\nlistne: x\n")
	_, err := Load(nil, []string{"AVEROS_AUTH_CONFIG=" + file})
	problems := validationProblems(t, err)

	want := []string{"line 3: tokens.acess-token-lifetime: unknown option", "line 4: listne: unknown option"}
	if len(problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(problems), len(want), err)
	}
	for i := range want {
		if !strings.Contains(problems[i], want[i]) {
			t.Errorf("problem %d = %q, want it to contain %q", i, problems[i], want[i])
		}
	}
}

func TestLoadReportsYAMLTypeErrors(t *testing.T) {
	file := writeFile(t, `tokens:
  access-token-lifetime: soon
keys:
  rsa-bits: many
cors:
  allowed-origins: https://a.example.com
log: verbose
`)
	_, err := Load(nil, []string{"AVEROS_AUTH_CONFIG=" + file})
	problems := validationProblems(t, err)

	want := []string{
		`line 2: tokens.access-token-lifetime: invalid value "soon": expected a Go duration`,
		`line 4: keys.rsa-bits: invalid value "many": expected an integer`,
		`line 6: cors.allowed-origins: invalid value "https://a.example.com": expected a list of strings`,
		`line 7: log: invalid value: expected a mapping of options`,
	}
	if len(problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(problems), len(want), err)
	}
	for i := range want {
		if !strings.Contains(problems[i], want[i]) {
			t.Errorf("problem %d = %q, want it to contain %q", i, problems[i], want[i])
		}
	}
}

func TestLoadRejectsInvalidYAMLSyntax(t *testing.T) {
	file := writeFile(t, "listen: [unclosed\n")
	_, err := Load(nil, []string{"AVEROS_AUTH_CONFIG=" + file})
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("Load = %v, want a syntax error naming the file", err)
	}
}

func TestLoadEnvironmentProblems(t *testing.T) {
	_, err := Load(nil, []string{
		"AVEROS_AUTH_TOKENS_ID_TOKEN_LIFETIME=forever",
		"AVEROS_AUTH_METRICS_ENABLED=maybe",
		"AVEROS_AUTH_LOG_LEVL=debug",
		"UNRELATED_VARIABLE=1",
	})
	problems := validationProblems(t, err)

	want := []string{
		`environment variable AVEROS_AUTH_TOKENS_ID_TOKEN_LIFETIME: tokens.id-token-lifetime: invalid value "forever"`,
		`environment variable AVEROS_AUTH_METRICS_ENABLED: metrics.enabled: invalid value "maybe"`,
		`environment variable AVEROS_AUTH_LOG_LEVL: unknown option`,
	}
	if len(problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(problems), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(problems[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, problems[i], want[i])
		}
	}
}

func TestLoadReportsProblemsFromAllSources(t *testing.T) {
	file := writeFile(t, "unknown-option: 1\nlog:\n  level: loud\n")
	_, err := Load(parseFlags(t, "--admin.max-results=0"), []string{
		"AVEROS_AUTH_CONFIG=" + file,
		"AVEROS_AUTH_LOCKOUT_DURATION=long",
	})
	problems := validationProblems(t, err)

	want := []string{"unknown-option", "AVEROS_AUTH_LOCKOUT_DURATION", "log.level", "admin.max-results"}
	if len(problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(problems), len(want), err)
	}
	for i := range want {
		if !strings.Contains(problems[i], want[i]) {
			t.Errorf("problem %d = %q, want it to contain %q", i, problems[i], want[i])
		}
	}
}

func TestLoadIssuer(t *testing.T) {
	tests := []struct {
		name        string
		environ     []string
		wantIssuer  string
		wantDerived bool
	}{
		{"derived from default listen", nil, "http://localhost:8080", true},
		{"derived from listen port", []string{"AVEROS_AUTH_LISTEN=0.0.0.0:9443"}, "http://localhost:9443", true},
		{"configured", []string{"AVEROS_AUTH_ISSUER=https://id.example.com"}, "https://id.example.com", false},
		{"one trailing slash removed", []string{"AVEROS_AUTH_ISSUER=https://id.example.com/"}, "https://id.example.com", false},
		{"path kept byte for byte", []string{"AVEROS_AUTH_ISSUER=https://id.example.com/Tenant%2FA/"}, "https://id.example.com/Tenant%2FA", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, nil, tt.environ)
			if cfg.Issuer != tt.wantIssuer {
				t.Errorf("issuer = %q, want %q", cfg.Issuer, tt.wantIssuer)
			}
			if cfg.IssuerDerived != tt.wantDerived {
				t.Errorf("IssuerDerived = %v, want %v", cfg.IssuerDerived, tt.wantDerived)
			}
		})
	}
}

func TestLoadRejectsIssuer(t *testing.T) {
	tests := []struct {
		name   string
		issuer string
	}{
		{"two trailing slashes", "https://id.example.com//"},
		{"http on remote host", "http://id.example.com"},
		{"query", "https://id.example.com/?tenant=a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(nil, []string{"AVEROS_AUTH_ISSUER=" + tt.issuer})
			problems := validationProblems(t, err)
			if len(problems) != 1 || !strings.HasPrefix(problems[0], "issuer: ") {
				t.Errorf("problems = %q, want one issuer problem", problems)
			}
		})
	}
}

func TestLoadAllowsInsecureIssuer(t *testing.T) {
	cfg := mustLoad(t, parseFlags(t, "--allow-insecure-issuer", "--issuer=http://auth.internal/"), nil)
	if cfg.Issuer != "http://auth.internal" {
		t.Errorf("issuer = %q, want http://auth.internal", cfg.Issuer)
	}
}

func TestBindFlagsRegistersEveryOption(t *testing.T) {
	fs := flag.NewFlagSet("averos-auth", flag.ContinueOnError)
	BindFlags(fs)

	paths := yamlPaths(t)
	for _, path := range append(paths, "config") {
		f := fs.Lookup(path)
		if f == nil {
			t.Errorf("flag --%s is not registered", path)
			continue
		}
		if f.Usage == "" {
			t.Errorf("flag --%s has no usage text", path)
		}
	}
	count := 0
	fs.VisitAll(func(*flag.Flag) { count++ })
	if count != len(paths)+1 {
		t.Errorf("registered %d flags, want %d options and --config", count, len(paths))
	}

	if got := fs.Lookup("tokens.access-token-lifetime").DefValue; got != "15m" {
		t.Errorf("default of --tokens.access-token-lifetime = %q, want 15m", got)
	}
}

func TestFlagValueNames(t *testing.T) {
	fs := flag.NewFlagSet("averos-auth", flag.ContinueOnError)
	BindFlags(fs)
	want := map[string]string{
		"listen":                       "host:port",
		"cors.allowed-origins":         ListValueName,
		"tokens.access-token-lifetime": "duration",
		"keys.rsa-bits":                "int",
		"http.max-body-bytes":          "int",
		"log.level":                    "string",
		"metrics.enabled":              "",
	}
	for name, valueName := range want {
		named, ok := fs.Lookup(name).Value.(interface{ ValueName() string })
		if !ok {
			t.Errorf("flag --%s has no ValueName method", name)
			continue
		}
		if got := named.ValueName(); got != valueName {
			t.Errorf("value name of --%s = %q, want %q", name, got, valueName)
		}
	}
	if got, _ := flag.UnquoteUsage(fs.Lookup("config")); got != "file" {
		t.Errorf("value name of --config = %q, want file", got)
	}
}

func TestEnvironmentNames(t *testing.T) {
	want := map[string]string{
		"tokens.access-token-lifetime": "AVEROS_AUTH_TOKENS_ACCESS_TOKEN_LIFETIME",
		"mongodb-uri":                  "AVEROS_AUTH_MONGODB_URI",
		"password.argon2.memory-kib":   "AVEROS_AUTH_PASSWORD_ARGON2_MEMORY_KIB",
	}
	for path, name := range want {
		o, ok := lookupOption(path)
		if !ok {
			t.Errorf("option %s not found", path)
			continue
		}
		if got := o.env(); got != name {
			t.Errorf("environment variable of %s = %s, want %s", path, got, name)
		}
	}
}
