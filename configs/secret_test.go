package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureSystemSecretCreatesAndReuses(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	first := Default()
	first.DataDir = dataDir

	generated, err := first.EnsureSystemSecret()
	if err != nil {
		t.Fatalf("first EnsureSystemSecret: %v", err)
	}
	if !generated {
		t.Error("first call: generated = false, want true")
	}
	if len(first.SystemSecret) != 43 {
		t.Errorf("secret has %d characters, want 43 (32 bytes in unpadded base64url)", len(first.SystemSecret))
	}
	path := filepath.Join(dataDir, "system-secret")
	if first.SystemSecretFile != path {
		t.Errorf("SystemSecretFile = %q, want %q", first.SystemSecretFile, path)
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("file permissions = %04o, want 0600", perm)
	}
	dirInfo, err := os.Stat(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := dirInfo.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory permissions = %04o, want 0700", perm)
	}

	second := Default()
	second.DataDir = dataDir
	generated, err = second.EnsureSystemSecret()
	if err != nil {
		t.Fatalf("second EnsureSystemSecret: %v", err)
	}
	if generated {
		t.Error("second call: generated = true, want false")
	}
	if second.SystemSecret != first.SystemSecret {
		t.Error("second call read a different secret than the first call wrote")
	}
	if err := second.Validate(); err != nil {
		t.Errorf("Validate after EnsureSystemSecret: %v", err)
	}
}

func TestEnsureSystemSecretRejectsOpenPermissions(t *testing.T) {
	dataDir := t.TempDir()
	path := filepath.Join(dataDir, "system-secret")
	secret := strings.Repeat("s", 40)
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}

	cfg := Default()
	cfg.DataDir = dataDir
	_, err := cfg.EnsureSystemSecret()
	if err == nil {
		t.Fatal("EnsureSystemSecret accepted a 0644 file")
	}
	if !strings.Contains(err.Error(), "0644") {
		t.Errorf("error = %q, want it to name the permissions 0644", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error contains the secret: %q", err)
	}
	if cfg.SystemSecret != "" {
		t.Error("SystemSecret was set despite the error")
	}
}

func TestEnsureSystemSecretRejectsShortFile(t *testing.T) {
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "system-secret"), []byte("tooshort\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.DataDir = dataDir
	_, err := cfg.EnsureSystemSecret()
	if err == nil {
		t.Fatal("EnsureSystemSecret accepted an 8-character secret")
	}
	if strings.Contains(err.Error(), "tooshort") {
		t.Errorf("error contains the file content: %q", err)
	}
}

func TestEnsureSystemSecretKeepsConfiguredSecret(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := Default()
	cfg.DataDir = dataDir
	cfg.SystemSecret = strings.Repeat("c", 32)

	generated, err := cfg.EnsureSystemSecret()
	if err != nil || generated {
		t.Fatalf("EnsureSystemSecret = %v, %v; want false, nil", generated, err)
	}
	if cfg.SystemSecret != strings.Repeat("c", 32) {
		t.Error("configured secret was replaced")
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("data directory was created: stat error = %v", err)
	}
}

func TestDevMode(t *testing.T) {
	dev := mustLoad(t, nil, nil)
	if !dev.Dev() {
		t.Error("Dev() = false with no issuer and no system secret")
	}
	if got := len(dev.DevReasons()); got != 2 {
		t.Errorf("DevReasons() has %d entries, want 2: %q", got, dev.DevReasons())
	}

	prod := mustLoad(t, nil, []string{
		"AVEROS_AUTH_ISSUER=https://id.example.com",
		"AVEROS_AUTH_SYSTEM_SECRET=" + strings.Repeat("p", 32),
	})
	if prod.Dev() {
		t.Errorf("Dev() = true with issuer and system secret configured: %q", prod.DevReasons())
	}

	fileSecret := mustLoad(t, nil, []string{"AVEROS_AUTH_ISSUER=https://id.example.com"})
	fileSecret.DataDir = t.TempDir()
	if _, err := fileSecret.EnsureSystemSecret(); err != nil {
		t.Fatal(err)
	}
	if !fileSecret.Dev() {
		t.Error("Dev() = false with the system secret from the data directory")
	}
}

func TestReadSystemSecretNeverCreates(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	missing := Default()
	missing.DataDir = dataDir

	found, err := missing.ReadSystemSecret()
	if err != nil {
		t.Fatalf("ReadSystemSecret without a file: %v", err)
	}
	if found {
		t.Error("found = true without a file, want false")
	}
	if missing.SystemSecret != "" {
		t.Error("SystemSecret was set without a file")
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("data directory was created: stat error = %v", err)
	}

	generator := Default()
	generator.DataDir = dataDir
	if _, err := generator.EnsureSystemSecret(); err != nil {
		t.Fatal(err)
	}
	reader := Default()
	reader.DataDir = dataDir
	found, err = reader.ReadSystemSecret()
	if err != nil || !found {
		t.Fatalf("ReadSystemSecret with a file = %v, %v; want true, nil", found, err)
	}
	if reader.SystemSecret != generator.SystemSecret {
		t.Error("ReadSystemSecret read a different secret than EnsureSystemSecret wrote")
	}
	if reader.SystemSecretFile != filepath.Join(dataDir, "system-secret") {
		t.Errorf("SystemSecretFile = %q", reader.SystemSecretFile)
	}
	if reader.SystemSecretGenerated {
		t.Error("SystemSecretGenerated = true after reading the file")
	}
}

// The start-up warning about a secret generated now must not claim that it
// was read from the file.
func TestDevReasonsGeneratedSecret(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	generated := Default()
	generated.DataDir = dataDir
	if _, err := generated.EnsureSystemSecret(); err != nil {
		t.Fatal(err)
	}
	reasons := strings.Join(generated.DevReasons(), "\n")
	if !strings.Contains(reasons, "a new secret was generated and stored in "+filepath.Join(dataDir, "system-secret")) {
		t.Errorf("DevReasons after generation = %q, want the generated file", reasons)
	}
	if strings.Contains(reasons, "read from") {
		t.Errorf("DevReasons after generation = %q, want no \"read from\"", reasons)
	}

	read := Default()
	read.DataDir = dataDir
	if _, err := read.EnsureSystemSecret(); err != nil {
		t.Fatal(err)
	}
	reasons = strings.Join(read.DevReasons(), "\n")
	if !strings.Contains(reasons, "read from "+filepath.Join(dataDir, "system-secret")) {
		t.Errorf("DevReasons with an existing file = %q, want \"read from\" the file", reasons)
	}
}

func TestSystemSecretSourcesAndOrigin(t *testing.T) {
	dataDir := t.TempDir()
	cfg := Default()
	cfg.DataDir = dataDir
	sources := cfg.SystemSecretSources()
	for _, want := range []string{"AVEROS_AUTH_SYSTEM_SECRET", "system-secret in the configuration file",
		filepath.Join(dataDir, "system-secret")} {
		if !strings.Contains(sources, want) {
			t.Errorf("SystemSecretSources() = %q, want it to contain %q", sources, want)
		}
	}

	cfg.SystemSecret = strings.Repeat("o", 32)
	if origin := cfg.SystemSecretOrigin(); !strings.Contains(origin, "system-secret option") {
		t.Errorf("SystemSecretOrigin() with a configured secret = %q", origin)
	}
	fromFile := Default()
	fromFile.DataDir = dataDir
	if _, err := fromFile.EnsureSystemSecret(); err != nil {
		t.Fatal(err)
	}
	if origin := fromFile.SystemSecretOrigin(); origin != "the file "+filepath.Join(dataDir, "system-secret") {
		t.Errorf("SystemSecretOrigin() with the file = %q", origin)
	}
}

func TestSystemSecretPathIsAbsolute(t *testing.T) {
	cfg := Default()
	cfg.DataDir = "./data"
	path := cfg.SystemSecretPath()
	if !filepath.IsAbs(path) {
		t.Errorf("SystemSecretPath() = %q, want an absolute path", path)
	}
	if filepath.Base(path) != "system-secret" || filepath.Base(filepath.Dir(path)) != "data" {
		t.Errorf("SystemSecretPath() = %q, want .../data/system-secret", path)
	}
}
