package configs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultValidates(t *testing.T) {
	cfg := Default()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
}

func TestValidateRejectsInvalidValue(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // start of the only expected problem: "PATH: invalid value VALUE"
	}{
		{"listen without port", func(c *Config) { c.Listen = "localhost" }, `listen: invalid value "localhost"`},
		{"listen port too large", func(c *Config) { c.Listen = ":70000" }, `listen: invalid value ":70000"`},
		{"listen port 0 without issuer", func(c *Config) { c.Listen = "127.0.0.1:0" }, `issuer: invalid value ""`},
		{"issuer relative", func(c *Config) { c.Issuer = "id.example.com" }, `issuer: invalid value "id.example.com"`},
		{"issuer ftp", func(c *Config) { c.Issuer = "ftp://id.example.com" }, `issuer: invalid value "ftp://id.example.com"`},
		{"issuer query", func(c *Config) { c.Issuer = "https://id.example.com?a=b" }, `issuer: invalid value "https://id.example.com?a=b"`},
		{"issuer empty query", func(c *Config) { c.Issuer = "https://id.example.com?" }, `issuer: invalid value "https://id.example.com?"`},
		{"issuer fragment", func(c *Config) { c.Issuer = "https://id.example.com#x" }, `issuer: invalid value "https://id.example.com#x"`},
		{"issuer trailing slash", func(c *Config) { c.Issuer = "https://id.example.com/" }, `issuer: invalid value "https://id.example.com/"`},
		{"issuer http remote", func(c *Config) { c.Issuer = "http://id.example.com" }, `issuer: invalid value "http://id.example.com"`},
		{"issuer without host", func(c *Config) { c.Issuer = "https:///path" }, `issuer: invalid value "https:///path"`},
		{"mongodb-uri scheme", func(c *Config) { c.MongoDBURI = "postgres://db" }, `mongodb-uri: invalid value "postgres://db"`},
		{"data-dir empty", func(c *Config) { c.DataDir = "" }, `data-dir: invalid value ""`},
		{"system-secret short", func(c *Config) { c.SystemSecret = "short" }, `system-secret: invalid value ([redacted], 5 characters)`},
		{"log.level", func(c *Config) { c.Log.Level = "verbose" }, `log.level: invalid value "verbose"`},
		{"log.format", func(c *Config) { c.Log.Format = "text" }, `log.format: invalid value "text"`},
		{"access token zero", func(c *Config) { c.Tokens.AccessTokenLifetime = 0 }, `tokens.access-token-lifetime: invalid value 0s`},
		{"access token over 24h", func(c *Config) { c.Tokens.AccessTokenLifetime = 25 * time.Hour }, `tokens.access-token-lifetime: invalid value 25h`},
		{"refresh token negative", func(c *Config) { c.Tokens.RefreshTokenLifetime = -time.Hour }, `tokens.refresh-token-lifetime: invalid value -1h`},
		{"refresh shorter than access", func(c *Config) { c.Tokens.RefreshTokenLifetime = 10 * time.Minute }, `tokens.refresh-token-lifetime: invalid value 10m`},
		{"id token zero", func(c *Config) { c.Tokens.IDTokenLifetime = 0 }, `tokens.id-token-lifetime: invalid value 0s`},
		{"refresh-scope empty", func(c *Config) { c.Tokens.RefreshScope = "" }, `tokens.refresh-scope: invalid value ""`},
		{"refresh-scope two scopes", func(c *Config) { c.Tokens.RefreshScope = "offline_access openid" }, `tokens.refresh-scope: invalid value "offline_access openid"`},
		{"keys.algorithm", func(c *Config) { c.Keys.Algorithm = "HS256" }, `keys.algorithm: invalid value "HS256"`},
		{"rsa-bits small", func(c *Config) { c.Keys.RSABits = 1024 }, `keys.rsa-bits: invalid value 1024`},
		{"rsa-bits large", func(c *Config) { c.Keys.RSABits = 16384 }, `keys.rsa-bits: invalid value 16384`},
		{"rotation-lead-time short", func(c *Config) {
			c.Keys.RotationLeadTime = 30 * time.Second
			c.Keys.JWKSMaxAge = 10 * time.Second
		}, `keys.rotation-lead-time: invalid value 30s`},
		{"rotation-interval short", func(c *Config) { c.Keys.RotationInterval = 47 * time.Hour }, `keys.rotation-interval: invalid value 47h`},
		{"jwks-max-age not shorter", func(c *Config) { c.Keys.JWKSMaxAge = 24 * time.Hour }, `keys.jwks-max-age: invalid value 24h`},
		{"jwks-max-age negative", func(c *Config) { c.Keys.JWKSMaxAge = -time.Second }, `keys.jwks-max-age: invalid value -1s`},
		{"argon2 memory zero", func(c *Config) { c.Password.Argon2.MemoryKiB = 0 }, `password.argon2.memory-kib: invalid value 0`},
		{"argon2 memory below 8p", func(c *Config) {
			c.Password.Argon2.MemoryKiB = 15
			c.Password.Argon2.Parallelism = 2
		}, `password.argon2.memory-kib: invalid value 15`},
		{"argon2 iterations zero", func(c *Config) { c.Password.Argon2.Iterations = 0 }, `password.argon2.iterations: invalid value 0`},
		{"argon2 parallelism zero", func(c *Config) { c.Password.Argon2.Parallelism = 0 }, `password.argon2.parallelism: invalid value 0`},
		{"argon2 parallelism 256", func(c *Config) { c.Password.Argon2.Parallelism = 256 }, `password.argon2.parallelism: invalid value 256`},
		{"password.min-length", func(c *Config) { c.Password.MinLength = 6 }, `password.min-length: invalid value 6`},
		{"lockout.max-failures zero", func(c *Config) { c.Lockout.MaxFailures = 0 }, `lockout.max-failures: invalid value 0`},
		{"lockout.max-failures 101", func(c *Config) { c.Lockout.MaxFailures = 101 }, `lockout.max-failures: invalid value 101`},
		{"lockout.duration", func(c *Config) { c.Lockout.Duration = 0 }, `lockout.duration: invalid value 0s`},
		{"origin wildcard", func(c *Config) { c.CORS.AllowedOrigins = []string{"*"} }, `cors.allowed-origins[0]: invalid value "*"`},
		{"origin path", func(c *Config) {
			c.CORS.AllowedOrigins = []string{"https://a.example.com", "https://b.example.com/app"}
		}, `cors.allowed-origins[1]: invalid value "https://b.example.com/app"`},
		{"origin trailing slash", func(c *Config) { c.CORS.AllowedOrigins = []string{"https://a.example.com/"} }, `cors.allowed-origins[0]: invalid value "https://a.example.com/"`},
		{"origin without scheme", func(c *Config) { c.CORS.AllowedOrigins = []string{"a.example.com"} }, `cors.allowed-origins[0]: invalid value "a.example.com"`},
		{"origin upper case", func(c *Config) { c.CORS.AllowedOrigins = []string{"https://A.example.com"} }, `cors.allowed-origins[0]: invalid value "https://A.example.com"`},
		{"origin default port", func(c *Config) { c.CORS.AllowedOrigins = []string{"https://a.example.com:443"} }, `cors.allowed-origins[0]: invalid value "https://a.example.com:443"`},
		{"max-body-bytes", func(c *Config) { c.HTTP.MaxBodyBytes = 0 }, `http.max-body-bytes: invalid value 0`},
		{"shutdown-timeout", func(c *Config) { c.HTTP.ShutdownTimeout = 0 }, `http.shutdown-timeout: invalid value 0s`},
		{"read-header-timeout", func(c *Config) { c.HTTP.ReadHeaderTimeout = -time.Second }, `http.read-header-timeout: invalid value -1s`},
		{"sweep-interval", func(c *Config) { c.Storage.SweepInterval = 500 * time.Millisecond }, `storage.sweep-interval: invalid value 500ms`},
		{"storage.timeout", func(c *Config) { c.Storage.Timeout = 0 }, `storage.timeout: invalid value 0s`},
		{"averos.client-id", func(c *Config) { c.Averos.ClientID = "" }, `averos.client-id: invalid value ""`},
		{"averos.client-id space", func(c *Config) { c.Averos.ClientID = "my web" }, `averos.client-id: invalid value "my web"`},
		{"cookie-name space", func(c *Config) { c.Averos.CookieName = "my cookie" }, `averos.cookie-name: invalid value "my cookie"`},
		{"cookie-name host prefix insecure", func(c *Config) {
			c.Averos.CookieName = "__Host-rt"
			c.Averos.CookieSecure = false
		}, `averos.cookie-name: invalid value "__Host-rt"`},
		{"cookie-same-site", func(c *Config) { c.Averos.CookieSameSite = "strict" }, `averos.cookie-same-site: invalid value "strict"`},
		{"same-site None insecure", func(c *Config) {
			c.Averos.CookieSameSite = "None"
			c.Averos.CookieSecure = false
		}, `averos.cookie-same-site: invalid value "None"`},
		{"frontend-url relative", func(c *Config) { c.Averos.FrontendURL = "/app" }, `averos.frontend-url: invalid value "/app"`},
		{"verification lifetime", func(c *Config) { c.Averos.VerificationTokenLifetime = 0 }, `averos.verification-token-lifetime: invalid value 0s`},
		{"reset lifetime", func(c *Config) { c.Averos.ResetTokenLifetime = 0 }, `averos.reset-token-lifetime: invalid value 0s`},
		{"availability-rate-limit", func(c *Config) { c.Averos.AvailabilityRateLimit = 0 }, `averos.availability-rate-limit: invalid value 0`},
		{"admin.role", func(c *Config) { c.Admin.Role = "" }, `admin.role: invalid value ""`},
		{"admin.clients bad ID", func(c *Config) { c.Admin.Clients = []string{"ops", "ops console"} }, `admin.clients[1]: invalid value "ops console"`},
		{"admin.max-results zero", func(c *Config) { c.Admin.MaxResults = 0 }, `admin.max-results: invalid value 0`},
		{"admin.max-results large", func(c *Config) { c.Admin.MaxResults = 100001 }, `admin.max-results: invalid value 100001`},
		{"smtp.port", func(c *Config) { c.SMTP.Port = 0 }, `smtp.port: invalid value 0`},
		{"smtp.tls", func(c *Config) { c.SMTP.TLS = "ssl" }, `smtp.tls: invalid value "ssl"`},
		{"smtp.from missing", func(c *Config) { c.SMTP.Host = "localhost" }, `smtp.from: invalid value ""`},
		{"smtp.from invalid", func(c *Config) { c.SMTP.From = "not an address" }, `smtp.from: invalid value "not an address"`},
		{"smtp plain password", func(c *Config) {
			c.SMTP.Host = "mail.example.com"
			c.SMTP.From = "auth@example.com"
			c.SMTP.TLS = "none"
			c.SMTP.Password = "hunter2hunter2"
		}, `smtp.tls: invalid value "none"`},
		{"smtp.templates-dir missing", func(c *Config) { c.SMTP.TemplatesDir = "/nonexistent/templates" }, `smtp.templates-dir: invalid value "/nonexistent/templates"`},
		{"smtp.templates-dir file", func(c *Config) { c.SMTP.TemplatesDir = "config.go" }, `smtp.templates-dir: invalid value "config.go"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			tt.change(&cfg)

			problems := validationProblems(t, cfg.Validate())
			if len(problems) != 1 {
				t.Fatalf("got %d problems, want 1:\n%s", len(problems), strings.Join(problems, "\n"))
			}
			if !strings.HasPrefix(problems[0], tt.want+": ") {
				t.Errorf("problem = %q, want prefix %q", problems[0], tt.want+": ")
			}
		})
	}
}

func TestValidateAcceptsEdgeValues(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"issuer http localhost", func(c *Config) { c.Issuer = "http://localhost:9000" }},
		{"issuer http IPv6 loopback", func(c *Config) { c.Issuer = "http://[::1]:9000" }},
		{"issuer http remote allowed", func(c *Config) {
			c.Issuer = "http://id.internal"
			c.AllowInsecureIssuer = true
		}},
		{"issuer with path", func(c *Config) { c.Issuer = "https://example.com/auth" }},
		{"listen all interfaces", func(c *Config) { c.Listen = ":9000" }},
		{"listen port 0 with issuer", func(c *Config) {
			c.Listen = "127.0.0.1:0"
			c.Issuer = "https://id.example.com"
		}},
		{"mongodb+srv", func(c *Config) { c.MongoDBURI = "mongodb+srv://u:p@cluster.example.com/db" }},
		{"rotation twice lead time", func(c *Config) { c.Keys.RotationInterval = 48 * time.Hour }},
		{"access token 24h", func(c *Config) { c.Tokens.AccessTokenLifetime = 24 * time.Hour }},
		{"origins", func(c *Config) {
			c.CORS.AllowedOrigins = []string{"https://app.example.com", "http://localhost:4200"}
		}},
		{"same-site None secure", func(c *Config) { c.Averos.CookieSameSite = "None" }},
		{"smtp plain on localhost", func(c *Config) {
			c.SMTP.Host = "localhost"
			c.SMTP.Port = 1025
			c.SMTP.TLS = "none"
			c.SMTP.Password = "local"
			c.SMTP.From = "Averos <auth@example.com>"
		}},
		{"templates-dir", func(c *Config) { c.SMTP.TemplatesDir = "." }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			tt.change(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	cfg := Default()
	cfg.Listen = "nope"
	cfg.Log.Level = "loud"
	cfg.Tokens.AccessTokenLifetime = 48 * time.Hour
	cfg.Admin.Role = ""

	err := cfg.Validate()
	problems := validationProblems(t, err)

	want := []string{"listen: ", "log.level: ", "tokens.access-token-lifetime: ", "admin.role: "}
	if len(problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(problems), len(want), err)
	}
	for i, prefix := range want {
		if !strings.HasPrefix(problems[i], prefix) {
			t.Errorf("problem %d = %q, want prefix %q", i, problems[i], prefix)
		}
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 1+len(want) {
		t.Errorf("Error() has %d lines, want a header and one line per problem:\n%s", len(lines), err)
	}
}

// validationProblems returns the problems of err, which must be a *ValidationError.
func validationProblems(t *testing.T, err error) []string {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error = %v (%T), want *ValidationError", err, err)
	}
	return verr.Problems
}
