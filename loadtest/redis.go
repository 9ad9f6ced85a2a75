package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// The Redis driver is a minimal RESP2 client: GET and SET over one
// connection per worker, with a reused buffer for requests and replies, so
// the baseline measures Redis and not a client library's pooling and
// command objects. Redis has no causal context: Token is always empty and
// writes are last-writer-wins.

// RedisOptions configure the Redis driver.
type RedisOptions struct {
	// Addrs are host:port; worker i uses Addrs[i mod len] and moves to the
	// next one after a connection error.
	Addrs []string
	// Password, when set, is sent with AUTH on every new connection.
	Password string
	// Timeout bounds each request and each dial; 0 means 10 s.
	Timeout time.Duration
}

// Redis is the Redis driver.
type Redis struct {
	opts RedisOptions
}

var _ Driver = (*Redis)(nil)

// NewRedis checks opts; it does not dial.
func NewRedis(opts RedisOptions) (*Redis, error) {
	if len(opts.Addrs) == 0 {
		return nil, errors.New("redis driver: no addresses")
	}
	for _, a := range opts.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("redis driver: address %q: want host:port", a)
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	return &Redis{opts: opts}, nil
}

// Name is "redis".
func (r *Redis) Name() string { return "redis" }

// Check sends PING to every address.
func (r *Redis) Check(ctx context.Context) error {
	var errs []error
	for i, a := range r.opts.Addrs {
		c := &redisClient{r: r, addr: i}
		if err := c.command(ctx, "PING"); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a, err))
		} else if c.kind != '+' || string(c.reply) != "PONG" {
			errs = append(errs, fmt.Errorf("%s: PING answered %c%s", a, c.kind, c.reply))
		}
		c.Close()
	}
	return errors.Join(errs...)
}

// NewClient returns worker i's client; it connects on first use.
func (r *Redis) NewClient(i int) (Client, error) {
	return &redisClient{r: r, addr: i % len(r.opts.Addrs)}, nil
}

// Close does nothing: connections belong to clients.
func (r *Redis) Close() error { return nil }

type redisClient struct {
	r    *Redis
	addr int
	conn net.Conn
	br   *bufio.Reader
	out  []byte
	// The last reply: its type byte and payload (a bulk string, a status
	// or error line, or an integer's digits); nil bulk sets isNil.
	kind  byte
	reply []byte
	isNil bool
}

func (c *redisClient) connect(ctx context.Context) error {
	d := net.Dialer{Timeout: c.r.opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", c.r.opts.Addrs[c.addr])
	if err != nil {
		return err
	}
	c.conn = conn
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 64<<10)
	} else {
		c.br.Reset(conn)
	}
	if c.r.opts.Password != "" {
		if err := c.roundTrip("AUTH", []byte(c.r.opts.Password)); err != nil {
			return err
		}
		if c.kind != '+' {
			return fmt.Errorf("AUTH: %s", c.reply)
		}
	}
	return nil
}

// command sends one command and reads its reply into c.kind and c.reply.
// A connection error closes the connection and moves the client to the
// next address for the next command.
func (c *redisClient) command(ctx context.Context, name string, args ...[]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.conn == nil {
		if err := c.connect(ctx); err != nil {
			c.drop()
			return &OpError{Kind: KindConnection, Err: err}
		}
	}
	if err := c.roundTrip(name, args...); err != nil {
		c.drop()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return &OpError{Kind: KindClientTimeout, Err: err}
		}
		if errors.Is(err, errProtocol) {
			return &OpError{Kind: KindProtocol, Err: err}
		}
		return &OpError{Kind: KindConnection, Err: err}
	}
	if c.kind == '-' {
		// "-ERR ...", "-WRONGTYPE ...": the first word is the kind.
		prefix, _, _ := strings.Cut(string(c.reply), " ")
		return &OpError{Kind: "redis_" + prefix, Err: errors.New(string(c.reply))}
	}
	return nil
}

var errProtocol = errors.New("RESP protocol error")

func (c *redisClient) roundTrip(name string, args ...[]byte) error {
	c.out = append(c.out[:0], '*')
	c.out = strconv.AppendInt(c.out, int64(1+len(args)), 10)
	c.out = append(c.out, "\r\n$"...)
	c.out = strconv.AppendInt(c.out, int64(len(name)), 10)
	c.out = append(append(append(c.out, "\r\n"...), name...), "\r\n"...)
	for _, a := range args {
		c.out = append(c.out, '$')
		c.out = strconv.AppendInt(c.out, int64(len(a)), 10)
		c.out = append(append(append(c.out, "\r\n"...), a...), "\r\n"...)
	}
	if err := c.conn.SetDeadline(time.Now().Add(c.r.opts.Timeout)); err != nil {
		return err
	}
	if _, err := c.conn.Write(c.out); err != nil {
		return err
	}
	return c.readReply()
}

// readReply reads one RESP2 reply (arrays are not expected and refused).
func (c *redisClient) readReply() error {
	line, err := c.readLine()
	if err != nil {
		return err
	}
	if len(line) == 0 {
		return fmt.Errorf("%w: empty reply line", errProtocol)
	}
	c.kind, c.isNil = line[0], false
	switch c.kind {
	case '+', '-', ':':
		c.reply = append(c.reply[:0], line[1:]...)
		return nil
	case '$':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil || n < -1 {
			return fmt.Errorf("%w: bulk length %q", errProtocol, line[1:])
		}
		if n == -1 {
			c.isNil = true
			c.reply = c.reply[:0]
			return nil
		}
		if cap(c.reply) < n+2 {
			c.reply = make([]byte, n+2)
		}
		c.reply = c.reply[:n+2]
		if _, err := io.ReadFull(c.br, c.reply); err != nil {
			return err
		}
		if !bytes.HasSuffix(c.reply, []byte("\r\n")) {
			return fmt.Errorf("%w: bulk string not terminated", errProtocol)
		}
		c.reply = c.reply[:n]
		return nil
	}
	return fmt.Errorf("%w: unexpected reply type %q", errProtocol, c.kind)
}

// readLine reads up to CRLF; the slice is valid until the next read.
func (c *redisClient) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: line too long", errProtocol)
		}
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: line not terminated by CRLF", errProtocol)
	}
	return line[:len(line)-2], nil
}

func (c *redisClient) drop() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	c.addr = (c.addr + 1) % len(c.r.opts.Addrs)
}

// Read is GET.
func (c *redisClient) Read(ctx context.Context, key []byte, res *ReadResult) error {
	res.Found, res.Values, res.Token = false, res.Values[:0], res.Token[:0]
	if err := c.command(ctx, "GET", key); err != nil {
		return err
	}
	switch {
	case c.kind != '$':
		return &OpError{Kind: KindProtocol, Err: fmt.Errorf("GET answered %c%s", c.kind, c.reply)}
	case c.isNil:
		return nil
	}
	res.Found = true
	res.Values = append(res.Values, c.reply)
	return nil
}

// Write is SET; the token is ignored (Redis has none).
func (c *redisClient) Write(ctx context.Context, key, value, _ []byte, res *WriteResult) error {
	res.Token = res.Token[:0]
	if err := c.command(ctx, "SET", key, value); err != nil {
		return err
	}
	if c.kind != '+' {
		return &OpError{Kind: KindProtocol, Err: fmt.Errorf("SET answered %c%s", c.kind, c.reply)}
	}
	return nil
}

func (c *redisClient) Close() error {
	if c.conn != nil {
		err := c.conn.Close()
		c.conn = nil
		return err
	}
	return nil
}

// Causal is false: a SET replaces whatever is stored.
func (r *Redis) Causal() bool { return false }
