package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
)

// Transport security modes of Config.TLS.
const (
	SecurityNone     = "none"
	SecurityStartTLS = "starttls"
	SecurityImplicit = "implicit"
)

// transport delivers one finished message.
type transport interface {
	deliver(ctx context.Context, from, to string, msg []byte) (where string, err error)
}

// permanentError marks a failure that a retry cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// smtpTransport delivers over one new SMTP connection per message.
type smtpTransport struct {
	host      string
	port      int
	security  string
	username  string
	password  string
	helloName string
	tlsConfig *tls.Config
}

func (t *smtpTransport) tlsClientConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.tlsConfig != nil {
		cfg = t.tlsConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = t.host
	}
	return cfg
}

func (t *smtpTransport) deliver(ctx context.Context, from, to string, msg []byte) (string, error) {
	addr := net.JoinHostPort(t.host, strconv.Itoa(t.port))
	dialer := &net.Dialer{}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("connect to SMTP server %s: %w", addr, err)
	}
	// The context bounds the whole exchange, not only the dial.
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	if t.security == SecurityImplicit {
		tlsConn := tls.Client(conn, t.tlsClientConfig())
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return "", fmt.Errorf("TLS handshake with SMTP server %s: %w", addr, err)
		}
		conn = tlsConn
	}
	c, err := smtp.NewClient(conn, t.host)
	if err != nil {
		_ = conn.Close()
		return "", classify(fmt.Errorf("SMTP greeting from %s: %w", addr, err))
	}
	defer c.Close()

	if err := t.converse(c, from, to, msg); err != nil {
		return "", classify(fmt.Errorf("SMTP delivery via %s: %w", addr, err))
	}
	return addr, nil
}

func (t *smtpTransport) converse(c *smtp.Client, from, to string, msg []byte) error {
	if err := c.Hello(t.helloName); err != nil {
		return err
	}
	if t.security == SecurityStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			// Sending in the clear instead would defeat the configured security.
			return &permanentError{errors.New("the server does not offer STARTTLS")}
		}
		if err := c.StartTLS(t.tlsClientConfig()); err != nil {
			return err
		}
	}
	if t.username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return &permanentError{errors.New("the server does not offer AUTH")}
		}
		if err := c.Auth(smtp.PlainAuth("", t.username, t.password, t.host)); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// classify marks SMTP replies 500 to 599 as permanent failures.
func classify(err error) error {
	var reply *textproto.Error
	if errors.As(err, &reply) && reply.Code >= 500 && reply.Code < 600 {
		return &permanentError{err}
	}
	return err
}
