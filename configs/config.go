package configs

import "time"

// Config is the whole server configuration. The yaml tag of each field is its option path
// segment, and the usage tag is its help text. The arg tag names the value in the help
// text when its type name would say little, such as host:port. The secret tag marks a
// value that is never printed: "value" hides the whole value, and "uri" hides the password
// inside a URI.
type Config struct {
	Listen              string `yaml:"listen" arg:"host:port" usage:"TCP address (host:port) the HTTP server listens on"`
	Issuer              string `yaml:"issuer" arg:"URL" usage:"issuer URL; empty derives http://localhost:PORT from listen"`
	AllowInsecureIssuer bool   `yaml:"allow-insecure-issuer" usage:"allow an http issuer on a host other than localhost, 127.0.0.1 or [::1]"`
	MongoDBURI          string `yaml:"mongodb-uri" secret:"uri" arg:"URI" usage:"MongoDB connection string (mongodb:// or mongodb+srv://); empty runs the embedded engine in data-dir"`
	DataDir             string `yaml:"data-dir" arg:"dir" usage:"directory for the embedded database and the generated system secret"`
	SystemSecret        string `yaml:"system-secret" secret:"value" usage:"server-wide HMAC secret, at least 32 characters; empty reads or creates data-dir/system-secret"`

	Log      LogConfig      `yaml:"log"`
	Tokens   TokensConfig   `yaml:"tokens"`
	Keys     KeysConfig     `yaml:"keys"`
	Password PasswordConfig `yaml:"password"`
	Lockout  LockoutConfig  `yaml:"lockout"`
	CORS     CORSConfig     `yaml:"cors"`
	HTTP     HTTPConfig     `yaml:"http"`
	Storage  StorageConfig  `yaml:"storage"`
	Averos   AverosConfig   `yaml:"averos"`
	Admin    AdminConfig    `yaml:"admin"`
	SMTP     SMTPConfig     `yaml:"smtp"`
	Metrics  MetricsConfig  `yaml:"metrics"`

	// IssuerDerived is set by Load when no issuer was configured and Issuer was derived
	// from the port of Listen.
	IssuerDerived bool `yaml:"-"`
	// File is the path of the configuration file that Load read, or "" when none was given.
	File string `yaml:"-"`
	// SystemSecretFile is the path EnsureSystemSecret read SystemSecret from or wrote it
	// to, or "" when SystemSecret was configured.
	SystemSecretFile string `yaml:"-"`
	// SystemSecretGenerated is set by EnsureSystemSecret when it created SystemSecretFile.
	SystemSecretGenerated bool `yaml:"-"`
}

// LogConfig is the log output of the server.
type LogConfig struct {
	Level  string `yaml:"level" usage:"minimum log level: debug, info, warn or error"`
	Format string `yaml:"format" usage:"log encoding: json or console"`
}

// TokensConfig holds the lifetimes of the tokens the server issues.
type TokensConfig struct {
	AccessTokenLifetime  time.Duration `yaml:"access-token-lifetime" usage:"lifetime of an access token (duration, at most 24h)"`
	RefreshTokenLifetime time.Duration `yaml:"refresh-token-lifetime" usage:"lifetime of a refresh token (duration, at least the access token lifetime)"`
	IDTokenLifetime      time.Duration `yaml:"id-token-lifetime" usage:"lifetime of an ID token (duration)"`
	RefreshScope         string        `yaml:"refresh-scope" usage:"scope a client must request to receive a refresh token"`
}

// KeysConfig is the setup of the token signing keys published in the JWKS.
type KeysConfig struct {
	Algorithm        string        `yaml:"algorithm" usage:"JWS signing algorithm: RS256, ES256 or EdDSA"`
	RSABits          int           `yaml:"rsa-bits" usage:"RSA modulus size in bits for RS256 keys (2048 to 8192)"`
	RotationLeadTime time.Duration `yaml:"rotation-lead-time" usage:"time a new key is published in the JWKS before it signs (duration, at least 1m)"`
	RotationInterval time.Duration `yaml:"rotation-interval" usage:"time between scheduled key rotations (duration); 0 disables scheduled rotation"`
	JWKSMaxAge       time.Duration `yaml:"jwks-max-age" usage:"Cache-Control max-age of the JWKS response (duration, shorter than rotation-lead-time)"`
}

// PasswordConfig is the password hashing and password policy setup.
type PasswordConfig struct {
	Argon2    Argon2Config `yaml:"argon2"`
	MinLength int          `yaml:"min-length" usage:"minimum password length in characters (at least 8)"`
}

// Argon2Config holds the Argon2id parameters used to hash new passwords.
type Argon2Config struct {
	MemoryKiB   int `yaml:"memory-kib" usage:"Argon2id memory cost in KiB (at least 8 x parallelism)"`
	Iterations  int `yaml:"iterations" usage:"Argon2id number of passes over the memory"`
	Parallelism int `yaml:"parallelism" usage:"Argon2id number of lanes (1 to 255)"`
}

// LockoutConfig is the account lockout policy after failed logins.
type LockoutConfig struct {
	MaxFailures int           `yaml:"max-failures" usage:"consecutive failed logins that lock an account (1 to 100)"`
	Duration    time.Duration `yaml:"duration" usage:"time an account stays locked (duration)"`
}

// CORSConfig lists the browser origins allowed to call the API.
type CORSConfig struct {
	AllowedOrigins []string `yaml:"allowed-origins" usage:"exact origins (scheme://host[:port]) allowed by CORS; comma-separated in flags and environment"`
}

// HTTPConfig holds the HTTP server limits.
type HTTPConfig struct {
	MaxBodyBytes      int64         `yaml:"max-body-bytes" usage:"maximum request body size in bytes"`
	ShutdownTimeout   time.Duration `yaml:"shutdown-timeout" usage:"time in-flight requests get to finish on shutdown (duration)"`
	ReadHeaderTimeout time.Duration `yaml:"read-header-timeout" usage:"time a client gets to send the request headers (duration)"`
}

// StorageConfig holds the storage timings shared by both database backends.
type StorageConfig struct {
	SweepInterval time.Duration `yaml:"sweep-interval" usage:"time between deletions of expired records (duration, at least 1s)"`
	Timeout       time.Duration `yaml:"timeout" usage:"timeout of one storage operation (duration)"`
}

// AverosConfig is the setup of the endpoints that Averos web applications call.
type AverosConfig struct {
	ClientID                  string        `yaml:"client-id" usage:"client ID of the Averos web application"`
	CookieName                string        `yaml:"cookie-name" usage:"name of the cookie that carries the Averos refresh token"`
	CookieSecure              bool          `yaml:"cookie-secure" usage:"set the Secure attribute on the refresh token cookie"`
	CookieSameSite            string        `yaml:"cookie-same-site" usage:"SameSite attribute of the refresh token cookie: Strict, Lax or None"`
	FrontendURL               string        `yaml:"frontend-url" arg:"URL" usage:"absolute URL of the Averos front end"`
	VerificationTokenLifetime time.Duration `yaml:"verification-token-lifetime" usage:"lifetime of an email verification link (duration)"`
	ResetTokenLifetime        time.Duration `yaml:"reset-token-lifetime" usage:"lifetime of a password reset link (duration)"`
	AvailabilityRateLimit     int           `yaml:"availability-rate-limit" usage:"availability checks allowed per minute per client IP"`
}

// AdminConfig is the setup of the administration API.
type AdminConfig struct {
	Role       string   `yaml:"role" usage:"role that grants access to the administration API"`
	MaxResults int      `yaml:"max-results" usage:"maximum number of records one administration query returns (1 to 100000)"`
	Clients    []string `yaml:"clients" usage:"client IDs, besides averos.client-id, whose users' access tokens the administration API accepts; comma-separated in flags and environment"`
}

// SMTPConfig is the outgoing mail server. An empty Host disables email.
type SMTPConfig struct {
	Host         string `yaml:"host" usage:"SMTP server host name; empty disables email"`
	Port         int    `yaml:"port" usage:"SMTP server TCP port"`
	TLS          string `yaml:"tls" usage:"SMTP transport security: none, starttls or implicit"`
	Username     string `yaml:"username" usage:"SMTP user name; empty skips authentication"`
	Password     string `yaml:"password" secret:"value" usage:"SMTP password"`
	From         string `yaml:"from" usage:"sender email address; required when host is set"`
	TemplatesDir string `yaml:"templates-dir" arg:"dir" usage:"directory of email templates that replace the built-in ones; empty uses the built-in ones"`
}

// MetricsConfig is the Prometheus metrics setup.
type MetricsConfig struct {
	Enabled bool `yaml:"enabled" usage:"serve Prometheus metrics"`
}

// Default returns the configuration used for every option that no source sets.
func Default() Config {
	return Config{
		Listen:  "127.0.0.1:8080",
		DataDir: "./data",
		Log:     LogConfig{Level: "info", Format: "json"},
		Tokens: TokensConfig{
			AccessTokenLifetime:  15 * time.Minute,
			RefreshTokenLifetime: 720 * time.Hour,
			IDTokenLifetime:      time.Hour,
			RefreshScope:         "offline_access",
		},
		Keys: KeysConfig{
			Algorithm:        "RS256",
			RSABits:          2048,
			RotationLeadTime: 24 * time.Hour,
			JWKSMaxAge:       15 * time.Minute,
		},
		Password: PasswordConfig{
			// One of the Argon2id configurations that the OWASP Password
			// Storage Cheat Sheet rates equally strong: the one with the
			// least memory, 7 MiB per concurrent login.
			Argon2:    Argon2Config{MemoryKiB: 7168, Iterations: 5, Parallelism: 1},
			MinLength: 8,
		},
		Lockout: LockoutConfig{MaxFailures: 5, Duration: 15 * time.Minute},
		CORS:    CORSConfig{AllowedOrigins: []string{}},
		HTTP: HTTPConfig{
			MaxBodyBytes:      1 << 20,
			ShutdownTimeout:   15 * time.Second,
			ReadHeaderTimeout: 10 * time.Second,
		},
		Storage: StorageConfig{SweepInterval: time.Minute, Timeout: 5 * time.Second},
		Averos: AverosConfig{
			ClientID:                  "averos-web",
			CookieName:                "averos_rt",
			CookieSecure:              true,
			CookieSameSite:            "Strict",
			FrontendURL:               "http://localhost:4200",
			VerificationTokenLifetime: 24 * time.Hour,
			ResetTokenLifetime:        time.Hour,
			AvailabilityRateLimit:     30,
		},
		Admin:   AdminConfig{Role: "admin", MaxResults: 1000, Clients: []string{}},
		SMTP:    SMTPConfig{Port: 587, TLS: "starttls"},
		Metrics: MetricsConfig{Enabled: true},
	}
}
