package ratings_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// auditFixture writes five audit entries through the service: 1 upload,
// 2 activation, 3–5 legacy codes.
func auditFixture(t *testing.T, db *bun.DB) []ratings.AuditEntry {
	t.Helper()
	ctx := context.Background()
	svc := newService(t, db)
	activateNational(t, svc, 2026)
	for i := range 3 {
		require.NoError(t, svc.AddLegacyCode(ctx, admin, badCheckChar(t, code(t, "350203", i)), fmt.Sprintf("registry record %d", i)))
	}
	entries := auditEntries(t, db)
	require.Len(t, entries, 5)
	return entries
}

func auditEntries(t *testing.T, db bun.IDB) []ratings.AuditEntry {
	t.Helper()
	var entries []ratings.AuditEntry
	require.NoError(t, db.NewSelect().Model(&entries).Order("seq").Scan(context.Background()))
	return entries
}

// bypassAuditTriggers lets a test change audit_log as an attacker with
// direct database access could.
func bypassAuditTriggers(t *testing.T, db *bun.DB) {
	t.Helper()
	stmts := []string{"DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"}
	if ratings.IsPostgres(db) {
		stmts = []string{"ALTER TABLE audit_log DISABLE TRIGGER audit_log_immutable"}
	}
	for _, s := range stmts {
		_, err := db.ExecContext(context.Background(), s)
		require.NoError(t, err)
	}
}

// forgedHash is the chain hash as an attacker who read the source would
// compute it (the same construction as the package's own).
func forgedHash(e *ratings.AuditEntry) string {
	h := sha256.New()
	field := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	opt := func(s *string) {
		if s == nil {
			field("\x00null")
			return
		}
		field(*s)
	}
	field(e.PrevHash)
	field(strconv.FormatInt(e.Seq, 10))
	field(e.At.UTC().Format(time.RFC3339Nano))
	field(e.Actor)
	field(e.Action)
	field(e.Subject)
	opt(e.Before)
	opt(e.After)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func forgedEntry(seq int64, prev string) *ratings.AuditEntry {
	after := `{"uscc":"forged"}`
	return &ratings.AuditEntry{Seq: seq, At: time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC), Actor: "mallory (admin 000000)",
		Action: "legacy_code.add", Subject: "uscc:forged", After: &after, PrevHash: prev}
}

func execSQL(t *testing.T, db bun.IDB, query string, args ...any) {
	t.Helper()
	_, err := db.ExecContext(context.Background(), query, args...)
	require.NoError(t, err)
}

func insertAuditEntry(t *testing.T, db bun.IDB, e *ratings.AuditEntry) {
	t.Helper()
	_, err := db.NewInsert().Model(e).Exec(context.Background())
	require.NoError(t, err)
}

func TestVerifyAudit(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		n, err := ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
		require.Zero(t, n)

		entries := auditFixture(t, db)
		n, err = ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
		require.EqualValues(t, 5, n)
		prev := ""
		for i, e := range entries {
			require.EqualValues(t, i+1, e.Seq)
			require.Equal(t, prev, e.PrevHash)
			require.Equal(t, forgedHash(&e), e.Hash, "entry %d", e.Seq)
			prev = e.Hash
		}
		require.Equal(t, []string{"rule_set.upload", "rule_set.activate", "legacy_code.add", "legacy_code.add", "legacy_code.add"},
			[]string{entries[0].Action, entries[1].Action, entries[2].Action, entries[3].Action, entries[4].Action})
	})
}

func TestVerifyAuditFindsTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		tamper     func(t *testing.T, db *bun.DB, entries []ratings.AuditEntry)
		wantSeq    int64
		wantReason string
		bug        string // why the case is skipped, if it is
	}{
		{
			name: "edited actor of entry 2",
			tamper: func(t *testing.T, db *bun.DB, _ []ratings.AuditEntry) {
				execSQL(t, db, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
			},
			wantSeq:    2,
			wantReason: "its content does not match its hash (edited?)",
		},
		{
			name: "edited after of entry 4",
			tamper: func(t *testing.T, db *bun.DB, _ []ratings.AuditEntry) {
				execSQL(t, db, `UPDATE audit_log SET after = '{"uscc":"x","reason":"y"}' WHERE seq = 4`)
			},
			wantSeq:    4,
			wantReason: "its content does not match its hash (edited?)",
		},
		{
			name: "edited time of entry 1",
			tamper: func(t *testing.T, db *bun.DB, e []ratings.AuditEntry) {
				execSQL(t, db, "UPDATE audit_log SET at = ? WHERE seq = 1", e[0].At.Add(time.Second))
			},
			wantSeq:    1,
			wantReason: "its content does not match its hash (edited?)",
		},
		{
			name: "edited entry 2 and rehashed",
			tamper: func(t *testing.T, db *bun.DB, entries []ratings.AuditEntry) {
				e := entries[1]
				e.Actor = "mallory"
				execSQL(t, db, "UPDATE audit_log SET actor = ?, hash = ? WHERE seq = 2", e.Actor, forgedHash(&e))
			},
			wantSeq:    3,
			wantReason: "its previous hash does not match the entry before it (inserted or reordered?)",
		},
		{
			name: "deleted middle entry",
			tamper: func(t *testing.T, db *bun.DB, _ []ratings.AuditEntry) {
				execSQL(t, db, "DELETE FROM audit_log WHERE seq = 3")
			},
			wantSeq:    3,
			wantReason: "missing: the next entry is 4 (deleted?)",
		},
		{
			name: "deleted first entry",
			tamper: func(t *testing.T, db *bun.DB, _ []ratings.AuditEntry) {
				execSQL(t, db, "DELETE FROM audit_log WHERE seq = 1")
			},
			wantSeq:    1,
			wantReason: "missing: the next entry is 2 (deleted?)",
		},
		{
			name: "deleted last entry",
			tamper: func(t *testing.T, db *bun.DB, _ []ratings.AuditEntry) {
				execSQL(t, db, "DELETE FROM audit_log WHERE seq = 5")
			},
			wantSeq:    5,
			wantReason: "the log ends at entry 4 but 5 were written (entries deleted from the end?)",
		},
		{
			name:       "deleted every entry",
			tamper:     func(t *testing.T, db *bun.DB, _ []ratings.AuditEntry) { execSQL(t, db, "DELETE FROM audit_log") },
			wantSeq:    1,
			wantReason: "the log ends at entry 0 but 5 were written (entries deleted from the end?)",
		},
		{
			name: "appended entry with a wrong previous hash",
			tamper: func(t *testing.T, db *bun.DB, _ []ratings.AuditEntry) {
				e := forgedEntry(6, "sha256:"+hex.EncodeToString(make([]byte, 32)))
				e.Hash = forgedHash(e)
				insertAuditEntry(t, db, e)
			},
			wantSeq:    6,
			wantReason: "its previous hash does not match the entry before it (inserted or reordered?)",
		},
		{
			name: "entry 3 replaced by a forgery hashed differently",
			tamper: func(t *testing.T, db *bun.DB, entries []ratings.AuditEntry) {
				execSQL(t, db, "DELETE FROM audit_log WHERE seq = 3")
				e := forgedEntry(3, entries[1].Hash)
				sum := sha256.Sum256([]byte(e.PrevHash + e.Actor + e.Action + e.Subject))
				e.Hash = "sha256:" + hex.EncodeToString(sum[:])
				insertAuditEntry(t, db, e)
			},
			wantSeq:    3,
			wantReason: "its content does not match its hash (edited?)",
		},
		{
			name: "entry 3 replaced by a correctly hashed forgery",
			tamper: func(t *testing.T, db *bun.DB, entries []ratings.AuditEntry) {
				execSQL(t, db, "DELETE FROM audit_log WHERE seq = 3")
				e := forgedEntry(3, entries[1].Hash)
				e.Hash = forgedHash(e)
				insertAuditEntry(t, db, e)
			},
			// Entry 3 verifies on its own; the chain breaks at entry 4.
			wantSeq:    4,
			wantReason: "its previous hash does not match the entry before it (inserted or reordered?)",
		},
		{
			name: "correctly hashed entry appended past the head",
			tamper: func(t *testing.T, db *bun.DB, entries []ratings.AuditEntry) {
				e := forgedEntry(6, entries[4].Hash)
				e.Hash = forgedHash(e)
				insertAuditEntry(t, db, e)
			},
			wantSeq: 6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.bug != "" {
				t.Skip(tt.bug)
			}
			ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
				ctx := context.Background()
				entries := auditFixture(t, db)
				bypassAuditTriggers(t, db)
				tt.tamper(t, db, entries)
				n, err := ratings.VerifyAudit(ctx, db)
				require.Zero(t, n)
				var br *ratings.AuditBreak
				require.ErrorAs(t, err, &br)
				require.Equal(t, tt.wantSeq, br.Seq, "reason: %s", br.Reason)
				if tt.wantReason != "" {
					require.Equal(t, tt.wantReason, br.Reason)
					require.EqualError(t, err, fmt.Sprintf("audit log broken at entry %d: %s", tt.wantSeq, tt.wantReason))
				}
			})
		})
	}
}

// The audit log is append-only in the database itself.
func TestAuditLogImmutableInDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		stmt string
	}{
		{name: "update", stmt: "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"},
		{name: "update every row", stmt: "UPDATE audit_log SET subject = subject"},
		{name: "delete", stmt: "DELETE FROM audit_log WHERE seq = 5"},
		{name: "delete every row", stmt: "DELETE FROM audit_log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
				ctx := context.Background()
				before := auditFixture(t, db)
				_, err := db.ExecContext(ctx, tt.stmt)
				require.Error(t, err)
				require.Contains(t, err.Error(), "audit_log rows are immutable")
				require.Equal(t, before, auditEntries(t, db))
				n, err := ratings.VerifyAudit(ctx, db)
				require.NoError(t, err)
				require.EqualValues(t, 5, n)
			})
		})
	}
}

// Concurrent appends are serial: every call gets its own sequence number
// and the chain verifies.
func TestAuditConcurrentAppends(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		const distinct = 20
		codes := make([]string, 0, distinct+5)
		for i := range distinct {
			codes = append(codes, badCheckChar(t, code(t, "350203", i)))
		}
		// Five of them twice: one of each pair wins, the other conflicts.
		codes = append(codes, codes[:5]...)
		errs := make([]error, len(codes))
		var wg sync.WaitGroup
		for i, c := range codes {
			wg.Go(func() { errs[i] = svc.AddLegacyCode(ctx, admin, c, fmt.Sprintf("registry record %d", i)) })
		}
		wg.Wait()
		ok, conflicts := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ratings.ErrConflict):
				conflicts++
			default:
				require.NoError(t, err)
			}
		}
		require.Equal(t, distinct, ok)
		require.Equal(t, 5, conflicts)
		require.Equal(t, distinct, countRows(t, db, "legacy_codes"))

		n, err := ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
		require.EqualValues(t, distinct, n)
		entries := auditEntries(t, db)
		require.Len(t, entries, distinct)
		subjects := map[string]bool{}
		for i, e := range entries {
			require.EqualValues(t, i+1, e.Seq)
			subjects[e.Subject] = true
		}
		require.Len(t, subjects, distinct, "each code has exactly one entry")
	})
}
