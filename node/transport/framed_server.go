package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/node/internal/wire"
)

// FramedServer answers the framed internode protocol on a listener of its
// own, apart from the client API, so that it can be firewalled (and, with
// the security work, authenticated) apart from it.
//
// Per connection, one reader decodes requests and runs each in a goroutine
// of its own: a handler may wait on the disk, and running it on the reader
// would make every later request on the connection wait behind it, which
// is the head-of-line blocking this protocol exists to remove. Answers go
// back through the connection's one writer (framewriter.go), in the order
// they are ready.
type FramedServer struct {
	h   Handler
	cfg FramedServerConfig

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	closed   bool
	handlers sync.WaitGroup

	// refusedLogAt and refusedSince rate-limit the log of refused
	// connections to one line a second: a port scan or a stray client must
	// not fill the log.
	refusedLogAt atomic.Int64 // unix nanoseconds of the last line
	refusedSince atomic.Int64 // refusals not logged since
}

// FramedServerConfig configures a FramedServer.
type FramedServerConfig struct {
	// MaxFrame bounds a request's body, in bytes.
	MaxFrame int
	// IdleTimeout closes a connection on which no frame arrived for this
	// long. Peers retire theirs at half of it, so that the dialling side,
	// not this one, ends an idle connection.
	IdleTimeout time.Duration
	// WriteTimeout bounds one write of answers: a peer that stops reading
	// loses its connection instead of growing this side's queue.
	WriteTimeout time.Duration
	// MaxInFlight bounds the requests of one connection being handled at
	// once; the reader waits beyond it, which stops the peer's writes by
	// TCP flow control.
	MaxInFlight int
	// Admit, when set, is asked for a request's body size before it is
	// read; an error refuses the request (its body is skipped) and is sent
	// as the refusal. release gives the bytes back once the request is
	// answered.
	Admit  func(bytes int) (release func(), err error)
	Logger *slog.Logger
	// TLS, if set, makes every connection a TLS server connection with this
	// configuration, which must require and verify a client certificate;
	// Authenticate then judges the verified peer. A connection whose
	// handshake fails, or that Authenticate refuses, is closed before any
	// frame of it is read.
	TLS          *tls.Config
	Authenticate func(tls.ConnectionState) error
}

// NewFramedServer returns a server of h's operations.
func NewFramedServer(h Handler, cfg FramedServerConfig) *FramedServer {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &FramedServer{h: h, cfg: cfg, conns: map[net.Conn]struct{}{}}
}

// Serve accepts connections on ln until Close; it returns nil after Close.
func (s *FramedServer) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept internode connection: %w", err)
		}
		if !s.track(c) {
			c.Close()
			return nil
		}
		go s.serveConn(c)
	}
}

func (s *FramedServer) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *FramedServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	// The connection's goroutine counts as a handler until it returns, so
	// the requests it starts are added while the count is above zero and
	// Close's Wait covers them: added from zero after Wait began, a request
	// could reach the handler after Close returned.
	s.handlers.Add(1)
	return true
}

func (s *FramedServer) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Close stops accepting, closes every connection and waits for the
// requests being handled to return (their answers are dropped).
func (s *FramedServer) Close() error {
	s.mu.Lock()
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.handlers.Wait()
	return nil
}

// serveConn reads requests until the connection ends.
func (s *FramedServer) serveConn(raw net.Conn) {
	defer s.handlers.Done() // added by track
	defer s.untrack(raw)
	defer raw.Close()
	c, err := s.handshake(raw)
	if err != nil {
		s.logRefused(raw, err)
		return
	}
	w := newFrameWriter(c, s.cfg.WriteTimeout, func(error) { c.Close() })
	defer w.stop(errConnClosed)
	slots := make(chan struct{}, s.cfg.MaxInFlight)
	br := bufio.NewReaderSize(c, 64<<10)
	for {
		if s.cfg.IdleTimeout > 0 {
			c.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		}
		h, err := readFrameHeader(br, s.cfg.MaxFrame)
		if err != nil {
			s.refuseConn(w, c, h, err)
			return
		}
		if h.kind != frameRequest {
			s.refuseConn(w, c, h, fmt.Errorf("%w: an answer sent to a server", errFrameMalformed))
			return
		}
		release := func() {}
		if s.cfg.Admit != nil {
			var aerr error
			if release, aerr = s.cfg.Admit(h.bodyLen()); aerr != nil {
				if _, err := br.Discard(int(h.length) - frameFixedAfterLength); err != nil {
					return
				}
				w.send(frameRefusal, h.id, "", wire.EncodeRemoteError(wire.AsRemoteError(aerr)))
				continue
			}
		}
		f, err := readFrameRest(br, h)
		if err != nil {
			release()
			return // the connection broke mid-frame: nobody to answer
		}
		slots <- struct{}{}
		s.handlers.Add(1)
		go func() {
			defer s.handlers.Done()
			defer func() { <-slots }()
			defer release()
			s.handle(w, f)
		}()
	}
}

// logRefused logs a refused connection, at most one line a second, saying
// how many refusals went unlogged before it.
func (s *FramedServer) logRefused(raw net.Conn, err error) {
	now := time.Now().UnixNano()
	last := s.refusedLogAt.Load()
	if now-last < int64(time.Second) || !s.refusedLogAt.CompareAndSwap(last, now) {
		s.refusedSince.Add(1)
		return
	}
	s.cfg.Logger.Warn("internode connection refused", "remote", raw.RemoteAddr().String(), "err", err,
		"unlogged_refusals_before", s.refusedSince.Swap(0))
}

// handshake runs the TLS handshake of a connection, if the server speaks
// TLS, within the idle timeout (a peer that connects and says nothing must
// not hold a goroutine), and authenticates the peer.
func (s *FramedServer) handshake(raw net.Conn) (net.Conn, error) {
	if s.cfg.TLS == nil {
		return raw, nil
	}
	tc := tls.Server(raw, s.cfg.TLS)
	timeout := s.cfg.IdleTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	if s.cfg.Authenticate != nil {
		if err := s.cfg.Authenticate(tc.ConnectionState()); err != nil {
			return nil, fmt.Errorf("peer not authenticated: %w", err)
		}
	}
	return tc, nil
}

// handle answers one request. It sets no deadline of its own: replica
// operations are local and end without one.
func (s *FramedServer) handle(w *frameWriter, f frame) {
	out, err := s.h.HandleInternode(context.Background(), f.op, f.body)
	if err != nil {
		w.send(frameRefusal, f.id, "", wire.EncodeRemoteError(wire.AsRemoteError(err)))
		return
	}
	w.send(frameAnswer, f.id, "", out)
}

// refuseConn ends a connection that sent what this node cannot read. A
// frame of another version, or a malformed one, is answered with a
// refusal saying why (id 0: about the connection), so that the peer's
// operator reads the reason rather than a reset; a broken or idle
// connection is just closed.
func (s *FramedServer) refuseConn(w *frameWriter, c net.Conn, h frameHeader, err error) {
	var verr errFrameVersion
	if !errors.As(err, &verr) && !errors.Is(err, errFrameMalformed) {
		if !errors.Is(err, io.EOF) && !isTimeout(err) {
			s.cfg.Logger.Debug("internode connection ended", "peer", c.RemoteAddr().String(), "err", err)
		}
		return
	}
	s.cfg.Logger.Warn("internode connection refused", "peer", c.RemoteAddr().String(), "err", err)
	msg := &wire.RemoteError{Code: wire.CodeBadMessage, Message: err.Error()}
	// Written here, after the writer stopped, so that it cannot interleave
	// with answers; the deferred close follows.
	w.stopAndWait(errConnClosed)
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(appendFrame(nil, frameRefusal, 0, "", wire.EncodeRemoteError(msg)))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
