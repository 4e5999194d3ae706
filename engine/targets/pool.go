package targets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/zrun-dev/zrun/sdk"
)

// Pool holds a run's connections, one per host, opened on first use and
// closed by Close. It is safe for concurrent use.
type Pool struct {
	// ctx bounds every dial: Close cancels the ones in flight.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	hosts  map[string]*host
	closed bool
}

// NewPool returns an empty pool.
func NewPool() *Pool {
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{ctx: ctx, cancel: cancel, hosts: map[string]*host{}}
}

// openSSHPacket is the SFTP data size used with OpenSSH: its 256 KiB
// message limit less room for the request's header.
const openSSHPacket = 252 << 10

// errPoolClosed is what a pool's hosts answer once the run has ended.
var errPoolClosed = errors.New("the run's connections are closed")

// Target returns the host's connection as an sdk.Target, opening it on
// first use. A dropped connection is reopened once, for the next command.
// Every call for one host returns the same Target.
func (p *Pool) Target(ctx context.Context, cfg *Config) (sdk.Target, error) {
	h, err := p.host(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := h.conn(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// host is cfg's entry, created on first use. Hosts are told apart by name
// and by where they are, so two environments' "web" never share one.
func (p *Pool) host(cfg *Config) (*host, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPoolClosed
	}
	key := cfg.Name + "\x00" + cfg.user() + "@" + cfg.addr()
	h := p.hosts[key]
	if h == nil {
		h = &host{pool: p, cfg: cfg}
		p.hosts[key] = h
	}
	return h, nil
}

// Close closes every connection of the pool.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	hosts := p.hosts
	p.hosts = map[string]*host{}
	p.mu.Unlock()
	p.cancel()
	for _, h := range hosts {
		h.close()
	}
	return nil
}

// host is one host's place in the pool: its current connection, if any,
// and the dial in flight. It is the sdk.Target the pool hands out.
type host struct {
	pool *Pool
	cfg  *Config

	// mu guards cur and dialing; nothing waits under it.
	mu      sync.Mutex
	cur     *conn
	dialing *dialCall
}

// dialCall is a dial in flight: everyone who needs the host while it runs
// waits for it, rather than opening connections of their own.
type dialCall struct {
	done chan struct{}
	c    *conn
	err  error
}

// conn is one SSH connection and its SFTP session, opened lazily.
type conn struct {
	client *ssh.Client
	// dead is closed once the connection has ended.
	dead chan struct{}

	sftpMu  sync.Mutex
	sftp    *sftp.Client
	sftpErr error
	// flusher is a second SFTP session (a second sftp-server process on
	// the host) that flushes files to disk while the first writes them.
	flusher    *sftp.Client
	flusherErr error
}

// conn returns the host's connection, dialling it when there is none (on
// first use, or after the last one dropped). Concurrent callers share one
// dial; each stops waiting when its own ctx ends.
func (h *host) conn(ctx context.Context) (*conn, error) {
	// A plugin may still hold the Target after the run: it gets no new
	// connection then.
	if h.pool.ctx.Err() != nil {
		return nil, errPoolClosed
	}
	h.mu.Lock()
	if h.cur != nil {
		c := h.cur
		h.mu.Unlock()
		return c, nil
	}
	call := h.dialing
	if call == nil {
		call = &dialCall{done: make(chan struct{})}
		h.dialing = call
		go h.dial(call)
	}
	h.mu.Unlock()
	select {
	case <-call.done:
		return call.c, call.err
	case <-ctx.Done():
		return nil, fmt.Errorf("connecting to host %s: %w", h.cfg.label(), context.Cause(ctx))
	}
}

// dial opens a connection for call, bounded by the pool's life and the
// host's connect timeout rather than by the ctx of whoever asked first:
// the others waiting for it must not fail because that one gave up.
func (h *host) dial(call *dialCall) {
	c, err := h.open(h.pool.ctx)
	h.mu.Lock()
	// Checked under h.mu, which Close's h.close takes after cancelling:
	// either Close finds c as the host's connection, or c is closed here.
	if c != nil && h.pool.ctx.Err() != nil {
		c.close()
		c, err = nil, errPoolClosed
	}
	call.c, call.err = c, err
	h.dialing = nil
	if err == nil {
		h.cur = c
	}
	h.mu.Unlock()
	close(call.done)
	if c != nil {
		go func() {
			c.client.Wait()
			close(c.dead)
			h.drop(c)
		}()
	}
}

func (h *host) open(ctx context.Context) (*conn, error) {
	var through *ssh.Client
	if h.cfg.Jump != nil {
		jump, err := h.pool.host(h.cfg.Jump)
		if err != nil {
			return nil, err
		}
		jc, err := jump.conn(ctx)
		if err != nil {
			return nil, jumpError(h.cfg, err)
		}
		through = jc.client
	}
	client, _, err := dial(ctx, h.cfg, through)
	if err != nil {
		return nil, err
	}
	return &conn{client: client, dead: make(chan struct{})}, nil
}

// drop forgets c (when it is still the host's connection) and closes it,
// so that the next use dials again.
func (h *host) drop(c *conn) {
	h.mu.Lock()
	if h.cur == c {
		h.cur = nil
	}
	h.mu.Unlock()
	c.close()
}

func (h *host) close() {
	h.mu.Lock()
	c := h.cur
	h.cur = nil
	h.mu.Unlock()
	if c != nil {
		c.close()
	}
}

func (c *conn) close() {
	c.sftpMu.Lock()
	for _, sc := range []*sftp.Client{c.sftp, c.flusher} {
		if sc != nil {
			sc.Close()
		}
	}
	c.sftpMu.Unlock()
	c.client.Close()
}

// sftpClient is the connection's SFTP session, started on first use and
// shared by every file operation on the connection.
func (c *conn) sftpClient() (*sftp.Client, error) {
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if c.sftp == nil && c.sftpErr == nil {
		opts := []sftp.ClientOption{
			// Many requests in flight per file: a transfer is then bound
			// by bandwidth, not by round trips.
			sftp.UseConcurrentWrites(true),
			sftp.UseConcurrentReads(true),
		}
		if strings.HasPrefix(string(c.client.ServerVersion()), "SSH-2.0-OpenSSH_") {
			// OpenSSH's sftp-server takes messages up to 256 KiB where the
			// protocol promises 32 KiB: eight times fewer requests is what
			// brings an upload level with scp. 16 in flight hold 4 MiB.
			opts = append(opts, sftp.MaxPacketUnchecked(openSSHPacket), sftp.MaxConcurrentRequestsPerFile(16))
		}
		c.sftp, c.sftpErr = sftp.NewClient(c.client, opts...)
	}
	return c.sftp, c.sftpErr
}

// flushClient is the connection's second SFTP session, started on the
// first large upload. OpenSSH's sftp-server answers one request at a time:
// a flush asked of the session that writes would stall the writes, asked
// of another process it runs beside them, on the host's other core.
func (c *conn) flushClient() (*sftp.Client, error) {
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if c.flusher == nil && c.flusherErr == nil {
		c.flusher, c.flusherErr = sftp.NewClient(c.client)
		if c.flusherErr == nil {
			if _, ok := c.flusher.HasExtension("fsync@openssh.com"); !ok {
				c.flusher.Close()
				c.flusher, c.flusherErr = nil, errors.ErrUnsupported
			}
		}
	}
	return c.flusher, c.flusherErr
}
