package configs

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// systemSecretFileName is the file in the data directory that stores a generated system
// secret.
const systemSecretFileName = "system-secret"

// EnsureSystemSecret sets SystemSecret from <data-dir>/system-secret when no system secret
// is configured. When the file does not exist, it creates the data directory (mode 0700)
// if needed and the file (mode 0600) with 32 random bytes in unpadded base64url, and
// returns generated=true. It sets SystemSecretFile to the path in both cases, so that Dev
// reports the development setup, and SystemSecretGenerated when it created the file.
//
// An existing file must be a regular file with permissions of at most 0600 and must
// contain at least 32 characters. Otherwise EnsureSystemSecret returns an error that names
// the file but never shows its content.
func (c *Config) EnsureSystemSecret() (generated bool, err error) {
	found, err := c.ReadSystemSecret()
	if err != nil || found {
		return false, err
	}
	path := filepath.Join(c.DataDir, systemSecretFileName)

	secret, err := createSystemSecret(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process created the file between the read and the create.
		secret, err = readSystemSecret(path)
	} else if err == nil {
		generated = true
	}
	if err != nil {
		return false, err
	}

	c.SystemSecret = secret
	c.SystemSecretFile = path
	c.SystemSecretGenerated = generated
	return generated, nil
}

// ReadSystemSecret sets SystemSecret from <data-dir>/system-secret when no system secret
// is configured, with the checks of EnsureSystemSecret, but never creates the file. It
// returns found=false and no error when no secret is configured and the file does not
// exist, and found=true when SystemSecret is set on return.
func (c *Config) ReadSystemSecret() (found bool, err error) {
	if c.SystemSecret != "" {
		return true, nil
	}
	if c.DataDir == "" {
		return false, errors.New("data-dir is empty: set data-dir or system-secret")
	}
	path := filepath.Join(c.DataDir, systemSecretFileName)
	secret, err := readSystemSecret(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c.SystemSecret = secret
	c.SystemSecretFile = path
	return true, nil
}

// SystemSecretPath returns the path of <data-dir>/system-secret, absolute when the
// working directory is known, for messages.
func (c *Config) SystemSecretPath() string {
	path := filepath.Join(c.DataDir, systemSecretFileName)
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// SystemSecretSources returns, in order of precedence, the places the system secret can
// come from, for messages that ask for the secret the stored data was created with.
func (c *Config) SystemSecretSources() string {
	return "AVEROS_AUTH_SYSTEM_SECRET, system-secret in the configuration file (--config FILE), " +
		"or, when neither is set, data-dir/system-secret (here " + c.SystemSecretPath() + ")"
}

// SystemSecretOrigin returns where the system secret in use came from, for messages.
func (c *Config) SystemSecretOrigin() string {
	if c.SystemSecretFile != "" {
		return "the file " + c.SystemSecretFile
	}
	return "the system-secret option"
}

func readSystemSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("system secret file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("system secret file %s is not a regular file", path)
	}
	// NOTE: this check relies on Unix permission bits and does not inspect ACLs.
	if perm := info.Mode().Perm(); perm&^0o600 != 0 {
		return "", fmt.Errorf("system secret file %s has permissions %04o: allow at most 0600, "+
			"for example with chmod 600 %s", path, perm, path)
	}

	// The limit keeps a wrong file, such as a database file, out of memory.
	const maxSize = 4096
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return "", fmt.Errorf("read system secret file %s: %w", path, err)
	}
	if len(data) > maxSize {
		return "", fmt.Errorf("system secret file %s is larger than %d bytes", path, maxSize)
	}
	secret := strings.TrimSpace(string(data))
	if utf8.RuneCountInString(secret) < 32 {
		return "", fmt.Errorf("system secret file %s contains fewer than 32 characters: "+
			"delete it to generate a new secret, or configure system-secret", path)
	}
	return secret, nil
}

func createSystemSecret(path string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("create data directory: %w", err)
	}

	random := make([]byte, 32)
	if _, err := rand.Read(random); err != nil {
		return "", fmt.Errorf("generate system secret: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(random)

	// O_EXCL makes two processes that start at once agree on a single file.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	// The umask can only remove bits, and the owner must be able to read the file.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(secret + "\n")
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return "", fmt.Errorf("write system secret file %s: %w", path, err)
	}
	return secret, nil
}

// Dev reports whether the server runs in the zero-configuration development mode, that is
// whether no issuer is configured (it is derived from listen) or no system secret is
// configured (it comes from the data directory). DevReasons names the cases.
func (c *Config) Dev() bool {
	return len(c.DevReasons()) > 0
}

// DevReasons returns one sentence per development-mode setting in effect, for a start-up
// warning, or nil in a production setup.
func (c *Config) DevReasons() []string {
	var reasons []string
	if c.IssuerDerived {
		reasons = append(reasons, "issuer is not configured, so it is derived from listen as "+c.Issuer)
	}
	switch {
	case c.SystemSecretGenerated:
		reasons = append(reasons, "system-secret is not configured, so a new secret was generated and stored in "+
			c.SystemSecretFile)
	case c.SystemSecretFile != "":
		reasons = append(reasons, "system-secret is not configured, so it is read from "+c.SystemSecretFile)
	case c.SystemSecret == "":
		reasons = append(reasons, "system-secret is not configured, so it will be read from or created in data-dir")
	}
	return reasons
}
