// Package mailtest runs a small SMTP server on 127.0.0.1 for tests: it
// speaks enough of RFC 5321 for net/smtp (EHLO, STARTTLS, AUTH PLAIN, MAIL,
// RCPT, DATA, RSET, NOOP, QUIT), records every accepted message and can
// reject the first deliveries with a temporary error to exercise retries.
package mailtest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Security is the transport security the server offers.
type Security int

const (
	// Plain offers no TLS.
	Plain Security = iota
	// StartTLS advertises STARTTLS and requires it before MAIL.
	StartTLS
	// Implicit speaks TLS from the first byte.
	Implicit
)

// Options configures a Server.
type Options struct {
	Security Security
	// Username and Password, when set, make AUTH PLAIN mandatory before MAIL.
	Username string
	Password string
	// FailFirst is the number of DATA commands rejected with 451 before
	// messages are accepted.
	FailFirst int
}

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	// Data is the message as received, with dot-stuffing removed and CRLF
	// line endings.
	Data []byte
	// TLS reports whether the session was encrypted when DATA ran.
	TLS bool
	// AuthUser is the user that authenticated, or "".
	AuthUser string
}

// Server is a running test SMTP server.
type Server struct {
	opts      Options
	ln        net.Listener
	tlsConfig *tls.Config
	certPool  *x509.CertPool

	// Messages receives every accepted message.
	Messages chan Message

	mu       sync.Mutex
	failures int
	rejected int
	wg       sync.WaitGroup
}

// Start runs a server on 127.0.0.1 until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, Messages: make(chan Message, 100)}
	cert, pool, err := selfSigned()
	if err != nil {
		t.Fatalf("mailtest: create certificate: %v", err)
	}
	s.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.certPool = pool

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	if opts.Security == Implicit {
		ln = tls.NewListener(ln, s.tlsConfig)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

// Host returns the server's host, 127.0.0.1.
func (s *Server) Host() string {
	host, _, _ := net.SplitHostPort(s.ln.Addr().String())
	return host
}

// Port returns the server's TCP port.
func (s *Server) Port() int {
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	n, _ := strconv.Atoi(port)
	return n
}

// ClientTLSConfig returns a client configuration that trusts the server's
// self-signed certificate.
func (s *Server) ClientTLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.certPool, ServerName: s.Host(), MinVersion: tls.VersionTLS12}
}

// Rejected returns how many DATA commands were rejected with 451.
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// Next waits up to limit for the next accepted message.
func (s *Server) Next(t testing.TB, limit time.Duration) Message {
	t.Helper()
	select {
	case m := <-s.Messages:
		return m
	case <-time.After(limit):
		t.Fatalf("mailtest: no message within %s", limit)
		return Message{}
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(time.Minute))
			sess := &session{srv: s, conn: conn, tls: s.opts.Security == Implicit}
			sess.run()
		}()
	}
}

// session is one SMTP connection.
type session struct {
	srv  *Server
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	tls  bool
	user string
	from string
	to   []string
}

func (c *session) reply(line string) {
	_, _ = c.w.WriteString(line + "\r\n")
	_ = c.w.Flush()
}

func (c *session) run() {
	c.r = bufio.NewReader(c.conn)
	c.w = bufio.NewWriter(c.conn)
	c.reply("220 mailtest ESMTP ready")
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		if !c.handle(strings.ToUpper(verb), arg) {
			return
		}
	}
}

// handle runs one command and reports whether the session goes on.
func (c *session) handle(verb, arg string) bool {
	opts := c.srv.opts
	switch verb {
	case "EHLO", "HELO":
		lines := []string{"250-mailtest"}
		if opts.Security == StartTLS && !c.tls {
			lines = append(lines, "250-STARTTLS")
		}
		if opts.Username != "" {
			lines = append(lines, "250-AUTH PLAIN")
		}
		lines = append(lines, "250 8BITMIME")
		for _, l := range lines {
			_, _ = c.w.WriteString(l + "\r\n")
		}
		_ = c.w.Flush()
	case "STARTTLS":
		if opts.Security != StartTLS || c.tls {
			c.reply("502 5.5.1 STARTTLS not available")
			return true
		}
		c.reply("220 2.0.0 ready to start TLS")
		tlsConn := tls.Server(c.conn, c.srv.tlsConfig)
		if err := tlsConn.Handshake(); err != nil {
			return false
		}
		c.conn, c.tls = tlsConn, true
		c.r = bufio.NewReader(c.conn)
		c.w = bufio.NewWriter(c.conn)
	case "AUTH":
		c.auth(arg)
	case "MAIL":
		if opts.Security != Plain && !c.tls {
			c.reply("530 5.7.0 must issue STARTTLS first")
			return true
		}
		if opts.Username != "" && c.user == "" {
			c.reply("530 5.7.0 authentication required")
			return true
		}
		c.from = strings.Trim(strings.TrimPrefix(strings.Fields(arg + " ")[0], "FROM:"), "<>")
		c.to = nil
		c.reply("250 2.1.0 ok")
	case "RCPT":
		c.to = append(c.to, strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>"))
		c.reply("250 2.1.5 ok")
	case "DATA":
		c.data()
	case "RSET":
		c.from, c.to = "", nil
		c.reply("250 2.0.0 ok")
	case "NOOP":
		c.reply("250 2.0.0 ok")
	case "QUIT":
		c.reply("221 2.0.0 bye")
		return false
	default:
		c.reply("502 5.5.2 command not implemented")
	}
	return true
}

func (c *session) auth(arg string) {
	opts := c.srv.opts
	mech, initial, _ := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") || opts.Username == "" {
		c.reply("504 5.5.4 mechanism not supported")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	parts := strings.Split(string(raw), "\x00")
	if err != nil || len(parts) != 3 || parts[1] != opts.Username || parts[2] != opts.Password {
		c.reply("535 5.7.8 authentication failed")
		return
	}
	c.user = parts[1]
	c.reply("235 2.7.0 authenticated")
}

func (c *session) data() {
	if c.from == "" || len(c.to) == 0 {
		c.reply("503 5.5.1 need MAIL and RCPT first")
		return
	}
	c.reply("354 end data with <CR><LF>.<CR><LF>")
	var body strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "." {
			break
		}
		body.WriteString(strings.TrimPrefix(line, "."))
		body.WriteString("\r\n")
	}

	c.srv.mu.Lock()
	fail := c.srv.failures < c.srv.opts.FailFirst
	if fail {
		c.srv.failures++
		c.srv.rejected++
	}
	c.srv.mu.Unlock()
	if fail {
		c.reply("451 4.3.0 temporary failure, try again later")
		return
	}

	msg := Message{From: c.from, To: c.to, Data: []byte(body.String()), TLS: c.tls, AuthUser: c.user}
	c.srv.Messages <- msg
	c.reply("250 2.0.0 queued")
}

// selfSigned creates a certificate for 127.0.0.1 and localhost and a pool
// that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// String describes the server for test messages.
func (s *Server) String() string {
	return fmt.Sprintf("mailtest server on %s", s.ln.Addr())
}
