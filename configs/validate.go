package configs

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ValidationError lists every problem found in a configuration. Each problem names the
// option by its yaml path, the invalid value (hidden for secrets) and what is allowed.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p)
	}
	return b.String()
}

// Validate checks every option and the rules between options, and returns a
// *ValidationError with all problems, or nil. An empty Issuer is valid when it can be
// derived from Listen, as Load does. Validate reads the file system only to check that
// smtp.templates-dir is a directory.
func (c *Config) Validate() error {
	if problems := c.problems(); len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	return nil
}

func (c *Config) problems() []string {
	var k checker
	c.checkServer(&k)
	c.checkLog(&k)
	c.checkTokens(&k)
	c.checkKeys(&k)
	c.checkPassword(&k)
	c.checkLockout(&k)
	c.checkCORS(&k)
	c.checkHTTP(&k)
	c.checkStorage(&k)
	c.checkAveros(&k)
	c.checkAdmin(&k)
	c.checkSMTP(&k)
	return k.problems
}

// clientIDPattern matches the client IDs the CLI and the administration API
// accept, and scopeTokenPattern an RFC 6749 section 3.3 scope-token.
var (
	clientIDPattern   = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,128}$`)
	scopeTokenPattern = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,128}$`)
)

// checker collects problems in the form "PATH: invalid value VALUE: RULE".
type checker struct {
	problems []string
}

// add records a problem; value must already be formatted and free of secrets.
func (k *checker) add(path, value, rule string) {
	k.problems = append(k.problems, fmt.Sprintf("%s: invalid value %s: %s", path, value, rule))
}

func (k *checker) addString(path, value, rule string) {
	k.add(path, strconv.Quote(value), rule)
}

func (k *checker) oneOf(path, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		k.addString(path, value, "must be one of "+strings.Join(allowed, ", "))
	}
}

func (k *checker) clientID(path, value string) {
	if !clientIDPattern.MatchString(value) {
		k.addString(path, value, "must be a client ID of 1 to 128 characters from A-Z a-z 0-9 . _ ~ -")
	}
}

func (k *checker) notEmpty(path, value string) {
	if value == "" {
		k.addString(path, value, "must not be empty")
	}
}

// durationRange checks that min <= d and, when max > 0, that d <= max.
func (k *checker) durationRange(path string, d, min, max time.Duration) {
	switch {
	case d < min && max > 0:
		k.add(path, formatDuration(d), fmt.Sprintf("must be between %s and %s",
			formatDuration(min), formatDuration(max)))
	case d < min:
		k.add(path, formatDuration(d), "must be at least "+formatDuration(min))
	case max > 0 && d > max:
		k.add(path, formatDuration(d), fmt.Sprintf("must be between %s and %s",
			formatDuration(min), formatDuration(max)))
	}
}

func (k *checker) positiveDuration(path string, d time.Duration) {
	if d <= 0 {
		k.add(path, formatDuration(d), "must be positive")
	}
}

func (k *checker) intRange(path string, n, min, max int64) {
	if n < min || n > max {
		k.add(path, strconv.FormatInt(n, 10), fmt.Sprintf("must be between %d and %d", min, max))
	}
}

func (c *Config) checkServer(k *checker) {
	port, err := listenPort(c.Listen)
	if err != nil {
		k.addString("listen", c.Listen, "must be host:port with a port from 0 to 65535 ("+err.Error()+")")
	}

	switch {
	case c.Issuer != "":
		checkIssuer(k, c.Issuer, c.AllowInsecureIssuer)
	case err == nil && port == 0:
		k.addString("issuer", c.Issuer,
			"must be set when listen uses port 0, because the issuer is derived from the listen port")
	}

	if c.MongoDBURI != "" && !strings.HasPrefix(c.MongoDBURI, "mongodb://") &&
		!strings.HasPrefix(c.MongoDBURI, "mongodb+srv://") {
		k.addString("mongodb-uri", redactURI(c.MongoDBURI),
			"must start with mongodb:// or mongodb+srv://, or be empty to run the embedded engine")
	}
	k.notEmpty("data-dir", c.DataDir)

	if n := utf8.RuneCountInString(c.SystemSecret); c.SystemSecret != "" && n < 32 {
		k.add("system-secret", fmt.Sprintf("(%s, %d characters)", redactedMark, n),
			"must be at least 32 characters, or empty to use data-dir/system-secret")
	}
}

// listenPort returns the port of a host:port listen address.
func listenPort(listen string) (int, error) {
	_, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return 0, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port %q is not a number from 0 to 65535", portText)
	}
	return int(port), nil
}

func checkIssuer(k *checker, issuer string, allowInsecure bool) {
	display := redactURI(issuer)
	u, err := url.Parse(issuer)
	switch {
	case err != nil:
		k.addString("issuer", display, "must be an absolute https URL")
		return
	case !strings.HasPrefix(issuer, "https://") && !strings.HasPrefix(issuer, "http://"):
		k.addString("issuer", display, "must be an absolute URL starting with https:// (or http:// on localhost)")
		return
	case u.Host == "":
		k.addString("issuer", display, "must contain a host")
	case u.User != nil:
		k.addString("issuer", display, "must not contain user information")
	case u.RawQuery != "" || u.ForceQuery:
		k.addString("issuer", display, "must not contain a query")
	case u.Fragment != "" || strings.Contains(issuer, "#"):
		k.addString("issuer", display, "must not contain a fragment")
	case strings.HasSuffix(issuer, "/"):
		k.addString("issuer", display, "must not end with a slash (Load removes one trailing slash)")
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()) && !allowInsecure:
		k.addString("issuer", display, "http is allowed only on localhost, 127.0.0.1 and [::1]; "+
			"use https or set allow-insecure-issuer: true")
	}
}

func isLoopbackHost(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1"
}

func (c *Config) checkLog(k *checker) {
	k.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	k.oneOf("log.format", c.Log.Format, "json", "console")
}

func (c *Config) checkTokens(k *checker) {
	t := c.Tokens
	if t.AccessTokenLifetime <= 0 || t.AccessTokenLifetime > 24*time.Hour {
		k.add("tokens.access-token-lifetime", formatDuration(t.AccessTokenLifetime),
			"must be positive and at most 24h")
	}
	k.positiveDuration("tokens.refresh-token-lifetime", t.RefreshTokenLifetime)
	if t.RefreshTokenLifetime > 0 && t.RefreshTokenLifetime < t.AccessTokenLifetime {
		k.add("tokens.refresh-token-lifetime", formatDuration(t.RefreshTokenLifetime),
			"must be at least tokens.access-token-lifetime ("+formatDuration(t.AccessTokenLifetime)+")")
	}
	k.positiveDuration("tokens.id-token-lifetime", t.IDTokenLifetime)
	if !scopeTokenPattern.MatchString(t.RefreshScope) {
		k.addString("tokens.refresh-scope", t.RefreshScope,
			"must be one scope of 1 to 128 printable ASCII characters without spaces, \" or \\")
	}
}

func (c *Config) checkKeys(k *checker) {
	keys := c.Keys
	k.oneOf("keys.algorithm", keys.Algorithm, "RS256", "ES256", "EdDSA")
	k.intRange("keys.rsa-bits", int64(keys.RSABits), 2048, 8192)
	k.durationRange("keys.rotation-lead-time", keys.RotationLeadTime, time.Minute, 0)

	if keys.RotationInterval != 0 && keys.RotationInterval < 2*keys.RotationLeadTime {
		k.add("keys.rotation-interval", formatDuration(keys.RotationInterval),
			"must be 0 (no scheduled rotation) or at least twice keys.rotation-lead-time ("+
				formatDuration(2*keys.RotationLeadTime)+")")
	}
	switch {
	case keys.JWKSMaxAge < 0:
		k.add("keys.jwks-max-age", formatDuration(keys.JWKSMaxAge), "must not be negative")
	case keys.JWKSMaxAge >= keys.RotationLeadTime:
		// Otherwise a client could cache a JWKS without the new key past the moment
		// the new key starts signing.
		k.add("keys.jwks-max-age", formatDuration(keys.JWKSMaxAge),
			"must be shorter than keys.rotation-lead-time ("+formatDuration(keys.RotationLeadTime)+")")
	}
}

func (c *Config) checkPassword(k *checker) {
	a := c.Password.Argon2
	// The upper bounds are the ranges of the uint32 and uint8 parameters of
	// golang.org/x/crypto/argon2.IDKey.
	k.intRange("password.argon2.memory-kib", int64(a.MemoryKiB), 1, math.MaxUint32)
	k.intRange("password.argon2.iterations", int64(a.Iterations), 1, math.MaxUint32)
	k.intRange("password.argon2.parallelism", int64(a.Parallelism), 1, math.MaxUint8)
	if a.MemoryKiB > 0 && a.Parallelism > 0 && a.MemoryKiB < 8*a.Parallelism {
		k.add("password.argon2.memory-kib", strconv.Itoa(a.MemoryKiB),
			fmt.Sprintf("must be at least 8 x password.argon2.parallelism (%d)", 8*a.Parallelism))
	}
	if c.Password.MinLength < 8 {
		k.add("password.min-length", strconv.Itoa(c.Password.MinLength), "must be at least 8")
	}
}

func (c *Config) checkLockout(k *checker) {
	k.intRange("lockout.max-failures", int64(c.Lockout.MaxFailures), 1, 100)
	k.positiveDuration("lockout.duration", c.Lockout.Duration)
}

func (c *Config) checkCORS(k *checker) {
	for i, origin := range c.CORS.AllowedOrigins {
		if err := checkOrigin(origin); err != nil {
			k.addString(fmt.Sprintf("cors.allowed-origins[%d]", i), origin, err.Error())
		}
	}
}

// checkOrigin returns an error unless origin has the form browsers send in the Origin
// header: scheme://host[:port] in lower case, without path, default port or wildcard.
func checkOrigin(origin string) error {
	const form = "must be an exact origin scheme://host[:port]"
	if strings.Contains(origin, "*") {
		return errors.New(form + " without wildcards")
	}
	u, err := url.Parse(origin)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "":
		return errors.New(form)
	case u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil:
		return errors.New(form + " without path, trailing slash, query or fragment")
	case origin != strings.ToLower(origin):
		return errors.New(form + " in lower case, as browsers send it")
	case (u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80"):
		return errors.New(form + " without the default port, as browsers send it")
	}
	return nil
}

func (c *Config) checkHTTP(k *checker) {
	if c.HTTP.MaxBodyBytes <= 0 {
		k.add("http.max-body-bytes", strconv.FormatInt(c.HTTP.MaxBodyBytes, 10), "must be positive")
	}
	k.positiveDuration("http.shutdown-timeout", c.HTTP.ShutdownTimeout)
	k.positiveDuration("http.read-header-timeout", c.HTTP.ReadHeaderTimeout)
}

func (c *Config) checkStorage(k *checker) {
	k.durationRange("storage.sweep-interval", c.Storage.SweepInterval, time.Second, 0)
	k.positiveDuration("storage.timeout", c.Storage.Timeout)
}

func (c *Config) checkAveros(k *checker) {
	a := c.Averos
	k.clientID("averos.client-id", a.ClientID)

	switch {
	case !isCookieName(a.CookieName):
		k.addString("averos.cookie-name", a.CookieName,
			"must be a non-empty cookie name without spaces, control characters or ()<>@,;:\\\"/[]?={}")
	case !a.CookieSecure && (strings.HasPrefix(a.CookieName, "__Host-") ||
		strings.HasPrefix(a.CookieName, "__Secure-")):
		k.addString("averos.cookie-name", a.CookieName,
			"a __Host- or __Secure- name requires averos.cookie-secure: true")
	}

	k.oneOf("averos.cookie-same-site", a.CookieSameSite, "Strict", "Lax", "None")
	if a.CookieSameSite == "None" && !a.CookieSecure {
		k.addString("averos.cookie-same-site", a.CookieSameSite,
			"None requires averos.cookie-secure: true, because browsers reject SameSite=None without Secure")
	}

	if u, err := url.Parse(a.FrontendURL); err != nil ||
		(u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		k.addString("averos.frontend-url", redactURI(a.FrontendURL), "must be an absolute http or https URL")
	}
	k.positiveDuration("averos.verification-token-lifetime", a.VerificationTokenLifetime)
	k.positiveDuration("averos.reset-token-lifetime", a.ResetTokenLifetime)
	if a.AvailabilityRateLimit <= 0 {
		k.add("averos.availability-rate-limit", strconv.Itoa(a.AvailabilityRateLimit), "must be positive")
	}
}

// isCookieName reports whether name is an RFC 6265 cookie-name, an RFC 2616 token.
func isCookieName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}

func (c *Config) checkAdmin(k *checker) {
	k.notEmpty("admin.role", c.Admin.Role)
	for i, id := range c.Admin.Clients {
		k.clientID(fmt.Sprintf("admin.clients[%d]", i), id)
	}
	k.intRange("admin.max-results", int64(c.Admin.MaxResults), 1, 100000)
}

func (c *Config) checkSMTP(k *checker) {
	s := c.SMTP
	k.intRange("smtp.port", int64(s.Port), 1, 65535)
	k.oneOf("smtp.tls", s.TLS, "none", "starttls", "implicit")

	switch {
	case s.Host != "" && s.From == "":
		k.addString("smtp.from", s.From, "must be set when smtp.host is set")
	case s.From != "":
		if _, err := mail.ParseAddress(s.From); err != nil {
			k.addString("smtp.from", s.From, "must be an email address such as auth@example.com")
		}
	}

	if s.Host != "" && s.TLS == "none" && s.Password != "" && !isLoopbackHost(s.Host) {
		k.addString("smtp.tls", s.TLS, "none would send smtp.password unencrypted to "+s.Host+
			"; use starttls or implicit")
	}

	if s.TemplatesDir != "" {
		info, err := os.Stat(s.TemplatesDir)
		switch {
		case err != nil:
			k.addString("smtp.templates-dir", s.TemplatesDir, "must be an existing directory ("+err.Error()+")")
		case !info.IsDir():
			k.addString("smtp.templates-dir", s.TemplatesDir, "must be a directory, not a file")
		}
	}
}
