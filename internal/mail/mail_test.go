package mail_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	mailpkg "github.com/averos/averos-auth/internal/mail"
	"github.com/averos/averos-auth/internal/mail/mailtest"
)

const wait = 10 * time.Second

var builtin = fstest.MapFS{
	"hello.subject.tmpl": {Data: []byte("Hello {{.Name}}\r\nBcc: injected@example.com")},
	"hello.text.tmpl":    {Data: []byte("Hi {{.Name}}, open {{.Link}}\n")},
	"hello.html.tmpl":    {Data: []byte("<p>Hi {{.Name}}, <a href=\"{{.Link}}\">open</a></p>\n")},
}

type helloData struct{ Name, Link string }

func render(t *testing.T) mailpkg.Content {
	t.Helper()
	tmpl, err := mailpkg.LoadTemplates(builtin, "", "hello")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tmpl.Render("hello", helloData{Name: "Zoë <b>", Link: "http://localhost:4200/x?vt=abc"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// parts parses a received message into its headers and its text and HTML parts.
func parts(t *testing.T, data []byte) (*mail.Message, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, want multipart/alternative", msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var text, html string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		body, _ := io.ReadAll(p) // multipart decodes quoted-printable
		switch {
		case strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain"):
			text = string(body)
		case strings.HasPrefix(p.Header.Get("Content-Type"), "text/html"):
			html = string(body)
		}
	}
	return msg, text, html
}

func TestRenderEscapesHTMLAndFoldsSubject(t *testing.T) {
	c := render(t)
	if c.Subject != "Hello Zoë <b> Bcc: injected@example.com" {
		t.Errorf("subject = %q, want one line", c.Subject)
	}
	if !strings.Contains(c.HTML, "Zoë &lt;b&gt;") {
		t.Errorf("html = %q, want the name escaped", c.HTML)
	}
	if !strings.Contains(c.Text, "Zoë <b>") {
		t.Errorf("text = %q, want the name as is", c.Text)
	}
}

func TestTemplateOverrideReplacesOneFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.html.tmpl"), []byte("<h1>{{.Name}}</h1>"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl, err := mailpkg.LoadTemplates(builtin, dir, "hello")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tmpl.Render("hello", helloData{Name: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTML != "<h1>Ada</h1>" {
		t.Errorf("html = %q, want the override", c.HTML)
	}
	if !strings.HasPrefix(c.Text, "Hi Ada") {
		t.Errorf("text = %q, want the built-in template", c.Text)
	}
}

func TestTemplateErrors(t *testing.T) {
	if _, err := mailpkg.LoadTemplates(builtin, "", "missing"); err == nil {
		t.Error("missing template loaded")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.text.tmpl"), []byte("{{.Name"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := mailpkg.LoadTemplates(builtin, dir, "hello"); err == nil || !strings.Contains(err.Error(), "hello.text.tmpl") {
		t.Errorf("err = %v, want a parse error naming hello.text.tmpl", err)
	}
}

func newMailer(t *testing.T, cfg mailpkg.Config) (*mailpkg.Mailer, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	m, err := mailpkg.New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, logs
}

func TestSMTPSecurityModes(t *testing.T) {
	cases := []struct {
		name     string
		security mailtest.Security
		mode     string
		user     string
		wantTLS  bool
	}{
		{"plain", mailtest.Plain, mailpkg.SecurityNone, "", false},
		{"starttls with auth", mailtest.StartTLS, mailpkg.SecurityStartTLS, "mailer", true},
		{"implicit tls with auth", mailtest.Implicit, mailpkg.SecurityImplicit, "mailer", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t, mailtest.Options{Security: tc.security, Username: tc.user, Password: "pw"})
			m, _ := newMailer(t, mailpkg.Config{
				Host: srv.Host(), Port: srv.Port(), TLS: tc.mode,
				Username: tc.user, Password: "pw",
				From: "Averos <auth@example.com>", TLSConfig: srv.ClientTLSConfig(),
			})
			if err := m.Send("ada@example.com", render(t)); err != nil {
				t.Fatal(err)
			}

			got := srv.Next(t, wait)
			if got.TLS != tc.wantTLS {
				t.Errorf("TLS = %v, want %v", got.TLS, tc.wantTLS)
			}
			if got.AuthUser != tc.user {
				t.Errorf("authenticated user = %q, want %q", got.AuthUser, tc.user)
			}
			if got.From != "auth@example.com" || len(got.To) != 1 || got.To[0] != "ada@example.com" {
				t.Errorf("envelope = %s -> %v", got.From, got.To)
			}
			msg, text, html := parts(t, got.Data)
			if subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); subject != "Hello Zoë <b> Bcc: injected@example.com" {
				t.Errorf("subject = %q", subject)
			}
			if msg.Header.Get("Bcc") != "" {
				t.Error("a template value added a Bcc header")
			}
			if msg.Header.Get("Message-Id") == "" || msg.Header.Get("Date") == "" {
				t.Error("Message-ID or Date header missing")
			}
			if !strings.Contains(text, "http://localhost:4200/x?vt=abc") {
				t.Errorf("text part = %q, want the link", text)
			}
			if !strings.Contains(html, `href="http://localhost:4200/x?vt=abc"`) {
				t.Errorf("html part = %q, want the link", html)
			}
		})
	}
}

func TestStartTLSRequiredByClient(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Security: mailtest.Plain})
	m, logs := newMailer(t, mailpkg.Config{
		Host: srv.Host(), Port: srv.Port(), TLS: mailpkg.SecurityStartTLS, From: "auth@example.com",
		InitialBackoff: time.Millisecond, MaxAttempts: 3,
	})
	if err := m.Send("ada@example.com", render(t)); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, logs, "email delivery failed permanently")
	select {
	case <-srv.Messages:
		t.Error("message sent without STARTTLS")
	default:
	}
}

func TestRetryAfterTemporaryFailure(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{FailFirst: 2})
	m, logs := newMailer(t, mailpkg.Config{
		Host: srv.Host(), Port: srv.Port(), TLS: mailpkg.SecurityNone, From: "auth@example.com",
		InitialBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
	})
	if err := m.Send("ada@example.com", render(t), zap.String("user_id", "u1")); err != nil {
		t.Fatal(err)
	}

	got := srv.Next(t, wait)
	if got.To[0] != "ada@example.com" {
		t.Errorf("recipient = %v", got.To)
	}
	if srv.Rejected() != 2 {
		t.Errorf("rejected = %d, want 2", srv.Rejected())
	}
	retries := logs.FilterMessage("email delivery failed; retrying").All()
	if len(retries) != 2 {
		t.Fatalf("retry log entries = %d, want 2", len(retries))
	}
	if retries[0].ContextMap()["user_id"] != "u1" {
		t.Errorf("retry log fields = %v, want user_id", retries[0].ContextMap())
	}
	delivered := waitForLog(t, logs, "email delivered")
	if delivered.ContextMap()["attempt"] != int64(3) {
		t.Errorf("delivered on attempt %v, want 3", delivered.ContextMap()["attempt"])
	}
}

func TestRetryGivesUp(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{FailFirst: 100})
	m, logs := newMailer(t, mailpkg.Config{
		Host: srv.Host(), Port: srv.Port(), TLS: mailpkg.SecurityNone, From: "auth@example.com",
		InitialBackoff: time.Millisecond, MaxAttempts: 3,
	})
	if err := m.Send("ada@example.com", render(t)); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, logs, "email delivery failed; giving up")
	if srv.Rejected() != 3 {
		t.Errorf("attempts = %d, want 3", srv.Rejected())
	}
}

func TestOutboxWritesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	m, logs := newMailer(t, mailpkg.Config{OutboxDir: dir})
	if err := m.Send("ada@example.com", render(t)); err != nil {
		t.Fatal(err)
	}
	entry := waitForLog(t, logs, "email written to outbox")
	path, _ := entry.ContextMap()["path"].(string)
	if filepath.Dir(path) != dir || !strings.HasSuffix(path, ".eml") {
		t.Fatalf("path = %q, want an .eml file in %s", path, dir)
	}
	for _, e := range logs.All() {
		for _, v := range e.ContextMap() {
			if s, ok := v.(string); ok && strings.Contains(s, "vt=abc") {
				t.Errorf("log entry %q contains the link", e.Message)
			}
		}
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", info.Mode().Perm())
	}
	dirInfo, _ := os.Stat(dir)
	if dirInfo.Mode().Perm() != 0o700 {
		t.Errorf("outbox mode = %v, want 0700", dirInfo.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	msg, text, _ := parts(t, data)
	if msg.Header.Get("From") != "<averos-auth@localhost>" {
		t.Errorf("From = %q, want the outbox default", msg.Header.Get("From"))
	}
	if !strings.Contains(text, "vt=abc") {
		t.Errorf("text part = %q, want the link", text)
	}
}

func TestSendRejectsBadRecipient(t *testing.T) {
	m, _ := newMailer(t, mailpkg.Config{OutboxDir: t.TempDir()})
	for _, to := range []string{"", "not an address", "a@example.com\r\nBcc: b@example.com"} {
		if err := m.Send(to, render(t)); err == nil {
			t.Errorf("Send(%q) succeeded", to)
		}
	}
	m.Close()
	if err := m.Send("ada@example.com", render(t)); err != mailpkg.ErrClosed {
		t.Errorf("Send after Close: err = %v, want ErrClosed", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := map[string]mailpkg.Config{
		"no host and no outbox": {From: "auth@example.com"},
		"bad sender":            {Host: "127.0.0.1", Port: 25, From: "not an address"},
		"bad tls mode":          {Host: "127.0.0.1", Port: 25, From: "auth@example.com", TLS: "ssl"},
	}
	for name, cfg := range cases {
		if m, err := mailpkg.New(cfg, nil); err == nil {
			m.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

// waitForLog waits until an entry with msg is logged and returns it.
func waitForLog(t *testing.T, logs *observer.ObservedLogs, msg string) observer.LoggedEntry {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if entries := logs.FilterMessage(msg).All(); len(entries) > 0 {
			return entries[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no log entry %q within %s", msg, wait)
	return observer.LoggedEntry{}
}
