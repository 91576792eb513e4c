package jujuc

import (
	"net"
	"sync"
)

// dropConn lets a call close its own client connection without replying.
// After drop, writes are swallowed so that net/rpc's attempt to send the
// reply neither reaches the client nor logs a write error.
type dropConn struct {
	net.Conn
	mu      sync.Mutex
	dropped bool
}

func (c *dropConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// drop closes the connection: the client reads EOF and no reply.
func (c *dropConn) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dropped {
		c.dropped = true
		c.Conn.Close()
	}
}
