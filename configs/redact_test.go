package configs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const (
	testSystemSecret = "system-secret-value-0123456789abcdef"
	testSMTPPassword = "smtp-password-value"
	testDBPassword   = "db-password-value"
)

// configWithSecrets returns a valid configuration whose three secrets are set.
func configWithSecrets() Config {
	cfg := Default()
	cfg.SystemSecret = testSystemSecret
	cfg.MongoDBURI = "mongodb://auth:" + testDBPassword + "@db1.localhost:27017,db2.localhost:27017/auth"
	cfg.SMTP.Host = "localhost"
	cfg.SMTP.From = "auth@example.com"
	cfg.SMTP.Username = "mailer"
	cfg.SMTP.Password = testSMTPPassword
	return cfg
}

func assertNoSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, secret := range []string{testSystemSecret, testSMTPPassword, testDBPassword} {
		if strings.Contains(text, secret) {
			t.Errorf("%s contains the secret %q:\n%s", where, secret, text)
		}
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	cfg := configWithSecrets()

	redacted := cfg.Redacted()
	assertNoSecret(t, "Redacted()", fmt.Sprint(redacted))
	if got := redacted["system-secret"]; got != "[redacted]" {
		t.Errorf(`Redacted()["system-secret"] = %v, want [redacted]`, got)
	}
	if got := redacted["smtp.password"]; got != "[redacted]" {
		t.Errorf(`Redacted()["smtp.password"] = %v, want [redacted]`, got)
	}
	wantURI := "mongodb://auth:xxxxx@db1.localhost:27017,db2.localhost:27017/auth"
	if got := redacted["mongodb-uri"]; got != wantURI {
		t.Errorf(`Redacted()["mongodb-uri"] = %v, want %s`, got, wantURI)
	}
	if got := redacted["tokens.access-token-lifetime"]; got != "15m" {
		t.Errorf(`Redacted()["tokens.access-token-lifetime"] = %v, want 15m`, got)
	}
	if got := redacted["smtp.username"]; got != "mailer" {
		t.Errorf(`Redacted()["smtp.username"] = %v, want mailer`, got)
	}

	assertNoSecret(t, "String()", cfg.String())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assertNoSecret(t, verb, fmt.Sprintf(verb, cfg))
		assertNoSecret(t, verb+" of a pointer", fmt.Sprintf(verb, &cfg))
	}
	if !strings.Contains(cfg.String(), "smtp.username=mailer") {
		t.Errorf("String() lacks smtp.username=mailer: %s", cfg.String())
	}
}

func TestErrorsHideSecrets(t *testing.T) {
	cfg := configWithSecrets()
	cfg.SystemSecret = "short-secret-value"
	cfg.MongoDBURI = "mongo://auth:" + testDBPassword + "@db.localhost"
	cfg.SMTP.Host = "mail.example.com"
	cfg.SMTP.TLS = "none"

	err := cfg.Validate()
	if got := len(validationProblems(t, err)); got != 3 {
		t.Fatalf("got %d problems, want 3:\n%v", got, err)
	}
	assertNoSecret(t, "Validate error", err.Error())
	if strings.Contains(err.Error(), "short-secret-value") {
		t.Errorf("Validate error contains the short system secret:\n%v", err)
	}

	file := writeFile(t, "system-secret: [a, list]\nsmtp:\n  password: {not: scalar}\n")
	_, err = Load(nil, []string{
		ConfigEnv + "=" + file,
		"MONGODB_URI=mysql://root:" + testDBPassword + "@db.localhost",
	})
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Load error = %v, want *ValidationError", err)
	}
	assertNoSecret(t, "Load error", err.Error())
	if !strings.Contains(err.Error(), "mysql://root:xxxxx@db.localhost") {
		t.Errorf("Load error lacks the redacted URI:\n%v", err)
	}
}

func TestRedactURI(t *testing.T) {
	tests := []struct {
		uri  string
		want string
	}{
		{"", ""},
		{"mongodb://db.localhost", "mongodb://db.localhost"},
		{"mongodb://user@db.localhost", "mongodb://user@db.localhost"},
		{"mongodb://user:pw@db.localhost/x", "mongodb://user:xxxxx@db.localhost/x"},
		{"mongodb+srv://user:p@ss@db.localhost", "mongodb+srv://user:xxxxx@db.localhost"},
		{"user:pw@db.localhost", "user:xxxxx@db.localhost"},
	}
	for _, tt := range tests {
		if got := redactURI(tt.uri); got != tt.want {
			t.Errorf("redactURI(%q) = %q, want %q", tt.uri, got, tt.want)
		}
	}
}
