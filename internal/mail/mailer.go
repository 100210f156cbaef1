package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultInitialBackoff = 30 * time.Second
	DefaultMaxBackoff     = 30 * time.Minute
	DefaultMaxAttempts    = 8
	DefaultQueueSize      = 1000
)

// ErrQueueFull reports that the delivery queue has no room for the message.
var ErrQueueFull = errors.New("mail: delivery queue is full")

// ErrClosed reports a Send after Close.
var ErrClosed = errors.New("mail: mailer is closed")

// Config configures a Mailer.
type Config struct {
	// Host is the SMTP server; empty writes messages to OutboxDir instead.
	Host string
	Port int
	// TLS is SecurityNone, SecurityStartTLS or SecurityImplicit.
	TLS string
	// Username, when set, authenticates with AUTH PLAIN, which net/smtp
	// sends only over TLS or to localhost.
	Username string
	Password string
	// From is the sender address, "auth@example.com" or
	// "Example <auth@example.com>"; averos-auth@localhost for the outbox
	// when empty.
	From string
	// OutboxDir receives one .eml file per message when Host is empty.
	OutboxDir string
	// TLSConfig overrides the client TLS settings (tests pass their own
	// root certificates); nil verifies the server against the system roots.
	TLSConfig *tls.Config
	// HelloName is the name sent in EHLO; the machine's host name when empty.
	HelloName string
	// Timeout bounds one delivery attempt; DefaultTimeout when zero.
	Timeout time.Duration
	// InitialBackoff is the wait before the first retry, doubled for each
	// further retry up to MaxBackoff. MaxAttempts counts the first attempt.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	MaxAttempts    int
	// QueueSize is the number of messages waiting for delivery or a retry
	// that the queue holds; DefaultQueueSize when zero.
	QueueSize int
	// Now is the clock used for the Date header and outbox file names.
	Now func() time.Time
}

// Mailer delivers messages on a background worker.
type Mailer struct {
	cfg       Config
	log       *zap.Logger
	from      *mail.Address
	transport transport

	queue  chan *job
	stop   chan struct{}
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
}

// job is one message on its way.
type job struct {
	to      string
	msg     []byte
	fields  []zap.Field
	attempt int
	due     time.Time
}

// New checks cfg, prepares the transport and starts the delivery worker.
func New(cfg Config, log *zap.Logger) (*Mailer, error) {
	if log == nil {
		log = zap.NewNop()
	}
	applyDefaults(&cfg)
	if cfg.From == "" && cfg.Host == "" {
		cfg.From = "averos-auth@localhost"
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: invalid sender address %q: %w", cfg.From, err)
	}

	var tr transport
	if cfg.Host == "" {
		if cfg.OutboxDir == "" {
			return nil, errors.New("mail: either an SMTP host or an outbox directory is required")
		}
		if tr, err = newOutbox(cfg.OutboxDir, cfg.Now); err != nil {
			return nil, err
		}
	} else {
		switch cfg.TLS {
		case SecurityNone, SecurityStartTLS, SecurityImplicit:
		default:
			return nil, fmt.Errorf("mail: invalid TLS mode %q: use none, starttls or implicit", cfg.TLS)
		}
		tr = &smtpTransport{
			host: cfg.Host, port: cfg.Port, security: cfg.TLS,
			username: cfg.Username, password: cfg.Password,
			helloName: cfg.HelloName, tlsConfig: cfg.TLSConfig,
		}
	}

	m := &Mailer{
		cfg:       cfg,
		log:       log,
		from:      from,
		transport: tr,
		queue:     make(chan *job, cfg.QueueSize),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	go m.run()
	return m, nil
}

func applyDefaults(cfg *Config) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = DefaultInitialBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.TLS == "" {
		cfg.TLS = SecurityStartTLS
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
		if name, err := os.Hostname(); err == nil && name != "" {
			cfg.HelloName = name
		}
	}
}

// UsesOutbox reports whether messages go to the outbox directory instead of
// an SMTP server.
func (m *Mailer) UsesOutbox() bool { return m.cfg.Host == "" }

// Send builds the message for to and queues it for delivery. It fails at
// once for an invalid recipient, a full queue or a closed Mailer; delivery
// failures are only logged. fields are added to every log entry about the
// message, so they must not carry the recipient's secrets.
func (m *Mailer) Send(to string, c Content, fields ...zap.Field) error {
	select {
	case <-m.stop:
		return ErrClosed
	default:
	}
	rcpt, err := mail.ParseAddress(to)
	if err != nil || strings.ContainsAny(rcpt.Address, "\r\n") {
		return fmt.Errorf("mail: invalid recipient address: %w", err)
	}
	msg, err := buildMessage(m.from, &mail.Address{Address: rcpt.Address}, c, m.cfg.Now())
	if err != nil {
		return fmt.Errorf("mail: build message: %w", err)
	}
	j := &job{to: rcpt.Address, msg: msg, fields: fields}
	select {
	case m.queue <- j:
		return nil
	default:
		return ErrQueueFull
	}
}

// Close stops the worker, interrupting a delivery in progress. Messages
// still waiting are dropped and counted in the log.
func (m *Mailer) Close() {
	m.once.Do(func() {
		close(m.stop)
		m.cancel()
		<-m.done
	})
}

// run delivers queued messages one at a time, keeping failed ones until
// their retry is due.
func (m *Mailer) run() {
	defer close(m.done)
	var pending []*job
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		pending = m.deliverDue(pending)
		wait := time.Hour
		if next := earliest(pending); next != nil {
			wait = time.Until(next.due)
		}
		timer.Reset(wait)

		select {
		case j := <-m.queue:
			pending = append(pending, j)
		case <-timer.C:
		case <-m.stop:
			if dropped := len(pending) + len(m.queue); dropped > 0 {
				m.log.Warn("mailer stopped with undelivered messages", zap.Int("count", dropped))
			}
			return
		}
	}
}

// deliverDue attempts every job whose time has come and returns the jobs
// that wait for later.
func (m *Mailer) deliverDue(pending []*job) []*job {
	kept := pending[:0]
	for _, j := range pending {
		if time.Now().Before(j.due) || m.ctx.Err() != nil {
			kept = append(kept, j)
			continue
		}
		if m.attempt(j) {
			kept = append(kept, j)
		}
	}
	return kept
}

func earliest(jobs []*job) *job {
	var first *job
	for _, j := range jobs {
		if first == nil || j.due.Before(first.due) {
			first = j
		}
	}
	return first
}

// attempt delivers j once and reports whether it should be tried again.
func (m *Mailer) attempt(j *job) (retry bool) {
	j.attempt++
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Timeout)
	where, err := m.transport.deliver(ctx, m.from.Address, j.to, j.msg)
	cancel()
	log := m.log.With(j.fields...).With(zap.Int("attempt", j.attempt))
	if err == nil {
		if m.UsesOutbox() {
			log.Info("email written to outbox", zap.String("path", where))
		} else {
			log.Info("email delivered", zap.String("smtp_server", where))
		}
		return false
	}
	if m.ctx.Err() != nil {
		log.Warn("email delivery interrupted by shutdown", zap.Error(err))
		return false
	}
	var permanent *permanentError
	if errors.As(err, &permanent) {
		log.Error("email delivery failed permanently", zap.Error(err))
		return false
	}
	if j.attempt >= m.cfg.MaxAttempts {
		log.Error("email delivery failed; giving up", zap.Error(err))
		return false
	}
	delay := m.backoff(j.attempt)
	j.due = time.Now().Add(delay)
	log.Warn("email delivery failed; retrying", zap.Error(err), zap.Duration("retry_in", delay))
	return true
}

// backoff returns the wait after the given number of failed attempts.
func (m *Mailer) backoff(failures int) time.Duration {
	delay := m.cfg.InitialBackoff
	for i := 1; i < failures && delay < m.cfg.MaxBackoff; i++ {
		delay *= 2
	}
	return min(delay, m.cfg.MaxBackoff)
}
