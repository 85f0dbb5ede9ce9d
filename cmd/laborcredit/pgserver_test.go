package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// envRequirePG, set to 1 (as in CI), makes the tests that start their own
// PostgreSQL fail instead of skipping when they cannot.
const envRequirePG = "LABORCREDIT_REQUIRE_PG_BINARIES"

// pgBin is where Debian puts the PostgreSQL 15 binaries.
const pgBin = "/usr/lib/postgresql/15/bin"

// pgServer is a throwaway PostgreSQL 15 of one test, in a temporary
// directory, on a free loopback port. It is never the shared test server.
type pgServer struct {
	dir  string
	port int
}

// skipOrFail skips the test, or fails it when envRequirePG is set.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(envRequirePG) == "1" {
		t.Fatalf(format+" (and %s=1)", append(args, envRequirePG)...)
	}
	t.Skipf(format+" (set %s=1 to fail instead)", append(args, envRequirePG)...)
}

// startPostgres initialises and starts a PostgreSQL of the test's own,
// stopped (immediately) when the test ends. It needs root (initdb runs as
// the postgres user through runuser) and the binaries in pgBin.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		skipOrFail(t, "own PostgreSQL: no binaries in %s", pgBin)
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "own PostgreSQL: needs root to run initdb as the postgres user")
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		skipOrFail(t, "own PostgreSQL: no postgres user: %v", err)
	}
	if _, err := exec.LookPath("runuser"); err != nil {
		skipOrFail(t, "own PostgreSQL: no runuser: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// Not t.TempDir(): its parent is private to root, and the server runs
	// as postgres.
	dir, err := os.MkdirTemp("", "laborcredit-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chown(dir, uid, gid))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &pgServer{dir: dir, port: ln.Addr().(*net.TCPAddr).Port}
	require.NoError(t, ln.Close())
	s.pg(t, "initdb", "-D", s.data(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
	s.start(t)
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", filepath.Join(pgBin, "pg_ctl"), "-D", s.data(), "-m", "immediate", "stop").Run() //nolint:errcheck // may be stopped already
	})
	return s
}

func (s *pgServer) data() string { return filepath.Join(s.dir, "data") }

// pg runs one of the PostgreSQL programs as the postgres user.
func (s *pgServer) pg(t *testing.T, prog string, args ...string) {
	t.Helper()
	out, err := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pgBin, prog)}, args...)...).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		t.Fatalf("%s %v: %v\n%s\nserver log:\n%s", prog, args, err, out, log)
	}
}

// start starts the server (again) and waits until it accepts connections.
// fsync is off (only an operating-system crash could lose data), but not
// synchronous_commit: a commit must survive stop -m immediate.
func (s *pgServer) start(t *testing.T) {
	t.Helper()
	s.pg(t, "pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "server.log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100", s.port, s.dir),
		"start")
}

// stop stops the server at once, as a crash would: no checkpoint, every
// connection dropped.
func (s *pgServer) stop(t *testing.T) {
	t.Helper()
	s.pg(t, "pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop")
}

// createDB creates a database and returns its URL.
func (s *pgServer) createDB(t *testing.T, name string) string {
	t.Helper()
	admin, err := sql.Open("postgres", s.url("postgres"))
	require.NoError(t, err)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = admin.ExecContext(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	return s.url(name)
}

func (s *pgServer) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// freeze stops (SIGSTOP) or resumes (SIGCONT) the server and every one of
// its processes, as a server that hangs: connections stay open and the
// kernel still accepts new ones, but nothing answers.
func (s *pgServer) freeze(t *testing.T, sig syscall.Signal) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.data(), "postmaster.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	require.NoError(t, err)
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	require.NoError(t, err)
	pids := []int{pid}
	for _, f := range strings.Fields(string(children)) {
		c, err := strconv.Atoi(f)
		require.NoError(t, err)
		pids = append(pids, c)
	}
	for _, p := range pids {
		require.NoError(t, syscall.Kill(p, sig), "pid %d", p)
	}
}
