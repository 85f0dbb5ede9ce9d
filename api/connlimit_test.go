package api_test

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/api"
)

// A client that holds connections open (slowloris) gets at most its share;
// the next one is closed at once, and a freed place is given again.
func TestLimitListener(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		per, total int
		proxies    []string
		admitted   int // connections from 127.0.0.1 held before one is refused; 0: none refused of 5
	}{
		{"per address", 3, 100, nil, 3},
		{"in total", 100, 2, nil, 2},
		{"a trusted proxy counts only in the total", 1, 100, []string{"127.0.0.1"}, 0},
		{"a trusted network too", 1, 4, []string{"127.0.0.0/8"}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }), //nolint:errcheck
				ReadHeaderTimeout: 10 * time.Second}
			go srv.Serve(api.LimitListener(ln, tt.per, tt.total, tt.proxies)) //nolint:errcheck // ends with Close
			t.Cleanup(func() { srv.Close() })
			addr := ln.Addr().String()

			// get sends a request on a new connection; false if the server
			// closed it instead of answering.
			get := func() bool {
				c, err := net.Dial("tcp", addr)
				require.NoError(t, err)
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
				if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); err != nil {
					return false
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			}
			require.True(t, get())
			n := tt.admitted
			if n == 0 {
				n = 5
			}
			held := make([]net.Conn, n)
			for i := range held {
				held[i], err = net.Dial("tcp", addr)
				require.NoError(t, err)
				t.Cleanup(func() { held[i].Close() })
			}
			// The held connections are accepted (and counted) in the server's
			// own time; a refused request is retried until they are.
			if tt.admitted == 0 {
				require.True(t, get(), "nothing is refused")
				return
			}
			require.Eventually(t, func() bool { return !get() }, 5*time.Second, 20*time.Millisecond, "the connection over the limit is closed")
			held[0].Close()
			require.Eventually(t, get, 5*time.Second, 20*time.Millisecond, "a freed place is given again")
		})
	}
}
