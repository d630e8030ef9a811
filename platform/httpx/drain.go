package httpx

import (
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// A 413 (or 431) is answered on the request's headers, and the HTTP server
// then closes the connection with the rest of the request unread. Closing a
// socket that has unread data makes the kernel send a reset, which can
// destroy the answer before the client, or a proxy in front (HAProxy), has
// read it: the client sees "connection reset", not the 413. Such a
// connection is closed the way HTTP servers call a lingering close: the
// answer is written, the write side is shut (FIN), and what still arrives is
// read and thrown away, up to drainBytes or drainTime, before the close.
const (
	drainBytes = 16 << 20
	drainTime  = 5 * time.Second
)

// drainListener hands the server connections that can be marked to drain.
type drainListener struct{ net.Listener }

func (l drainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &drainConn{Conn: c}, nil
}

type drainConn struct {
	net.Conn
	drain atomic.Bool
}

func (c *drainConn) Close() error {
	if c.drain.Swap(false) {
		if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			_ = hc.CloseWrite()
		}
		_ = c.Conn.SetReadDeadline(time.Now().Add(drainTime))
		_, _ = io.CopyN(io.Discard, c.Conn, drainBytes)
	}
	return c.Conn.Close()
}

// drainBeforeClose marks the request's connection to be drained when the
// server closes it (a connection of app.Test is not a drainConn).
func drainBeforeClose(c *fiber.Ctx) {
	if dc, ok := c.Context().Conn().(*drainConn); ok {
		dc.drain.Store(true)
	}
}
