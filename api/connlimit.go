package api

import (
	"net"
	"net/netip"
	"strings"
	"sync"
)

// Connection limits of LimitListener's defaults.
const (
	// MaxConnsPerAddress is how many connections one client address (an
	// IPv6 /64 counts as one) may hold open at once.
	MaxConnsPerAddress = 256
	// MaxConns is how many connections the server holds open at once.
	MaxConns = 10_000
)

// LimitListener caps the connections ln hands out: perAddress per client
// address (an IPv6 /64 counts as one address, IPv4-in-IPv6 as its IPv4)
// and total in all. A connection over either cap is closed as soon as it
// is accepted, so slow clients from one address cannot use up the
// process's file handles while others are still served. Connections from
// the trusted proxies (addresses or CIDRs, as Options.TrustedProxies) are
// counted only in the total. Zero caps take MaxConnsPerAddress and
// MaxConns.
func LimitListener(ln net.Listener, perAddress, total int, trustedProxies []string) net.Listener {
	l := &limitListener{Listener: ln, per: perAddress, total: total, open: map[string]int{}}
	if l.per <= 0 {
		l.per = MaxConnsPerAddress
	}
	if l.total <= 0 {
		l.total = MaxConns
	}
	for _, p := range trustedProxies {
		if !strings.Contains(p, "/") {
			if a, err := netip.ParseAddr(p); err == nil {
				p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String()
			}
		}
		if pfx, err := netip.ParsePrefix(p); err == nil {
			l.exempt = append(l.exempt, pfx.Masked())
		}
	}
	return l
}

type limitListener struct {
	net.Listener
	per, total int
	exempt     []netip.Prefix

	mu    sync.Mutex
	open  map[string]int
	count int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, counted := l.key(c.RemoteAddr())
		if l.admit(key, counted) {
			return &limitConn{Conn: c, l: l, key: key, counted: counted}, nil
		}
		c.Close()
	}
}

// key is the address a connection counts against, and whether it counts
// per address at all (a trusted proxy's do not).
func (l *limitListener) key(addr net.Addr) (string, bool) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return addr.String(), true
	}
	a := ap.Addr().Unmap()
	for _, p := range l.exempt {
		if p.Contains(a) {
			return "", false
		}
	}
	return addressKey(a), true
}

func (l *limitListener) admit(key string, counted bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count >= l.total || (counted && l.open[key] >= l.per) {
		return false
	}
	l.count++
	if counted {
		l.open[key]++
	}
	return true
}

func (l *limitListener) release(key string, counted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count--
	if counted {
		if l.open[key]--; l.open[key] <= 0 {
			delete(l.open, key)
		}
	}
}

type limitConn struct {
	net.Conn
	l       *limitListener
	key     string
	counted bool
	once    sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key, c.counted) })
	return err
}
