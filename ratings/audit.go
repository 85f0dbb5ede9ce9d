package ratings

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"
)

// AuditEntry is one entry of the append-only audit log. Hash is the
// SHA-256 of the entry's content and the previous entry's hash, so any
// edit, deletion or insertion breaks the chain.
type AuditEntry struct {
	bun.BaseModel `bun:"table:audit_log"`

	Seq      int64     `bun:"seq,pk" json:"seq"`
	At       time.Time `bun:"at" json:"at"`
	Actor    string    `bun:"actor" json:"actor"`
	Action   string    `bun:"action" json:"action"`
	Subject  string    `bun:"subject" json:"subject"`
	Before   *string   `bun:"before" json:"before,omitempty"`
	After    *string   `bun:"after" json:"after,omitempty"`
	PrevHash string    `bun:"prev_hash" json:"prev_hash"`
	Hash     string    `bun:"hash" json:"hash"`
}

type auditHead struct {
	bun.BaseModel `bun:"table:audit_head"`

	ID   int    `bun:"id,pk"`
	Seq  int64  `bun:"seq"`
	Hash string `bun:"hash"`
}

// entryHash is the chained hash of an entry.
func entryHash(e *AuditEntry) string {
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

// appendAudit writes one audit entry in the caller's transaction. before
// and after are encoded as JSON (nil for none).
func appendAudit(ctx context.Context, db bun.IDB, at time.Time, actor Actor, action, subject string, before, after any) error {
	enc := func(v any) (*string, error) {
		if v == nil {
			return nil, nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		s := string(b)
		return &s, nil
	}
	b, err := enc(before)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	a, err := enc(after)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	// Taking the head's row lock first makes appends serial.
	if _, err := db.NewUpdate().Model((*auditHead)(nil)).Set("seq = seq + 1").Where("id = 1").Exec(ctx); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	var head auditHead
	if err := db.NewSelect().Model(&head).Where("id = 1").Scan(ctx); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	e := &AuditEntry{Seq: head.Seq, At: at.UTC().Truncate(time.Microsecond), Actor: actor.String(), Action: action,
		Subject: subject, Before: b, After: a, PrevHash: head.Hash}
	e.Hash = entryHash(e)
	if _, err := db.NewInsert().Model(e).Exec(ctx); err != nil {
		return fmt.Errorf("audit %s: %w", action, dbError(err))
	}
	if _, err := db.NewUpdate().Model((*auditHead)(nil)).Set("hash = ?", e.Hash).Where("id = 1").Exec(ctx); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// AuditBreak is where the audit chain is broken.
type AuditBreak struct {
	Seq    int64  // the first entry that does not verify (or the missing one)
	Reason string // what is wrong with it
}

func (b *AuditBreak) Error() string {
	return fmt.Sprintf("audit log broken at entry %d: %s", b.Seq, b.Reason)
}

// VerifyAudit walks the whole audit chain in order and returns the number
// of entries verified, or an *AuditBreak naming the first broken entry.
func VerifyAudit(ctx context.Context, db bun.IDB) (int64, error) {
	var head auditHead
	if err := db.NewSelect().Model(&head).Where("id = 1").Scan(ctx); err != nil {
		return 0, fmt.Errorf("audit verify: %w", dbError(err))
	}
	rows, err := db.QueryContext(ctx, "SELECT seq, at, actor, action, subject, before, after, prev_hash, hash FROM audit_log ORDER BY seq")
	if err != nil {
		return 0, fmt.Errorf("audit verify: %w", err)
	}
	defer rows.Close()
	prev, want := "", int64(1)
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.Seq, &e.At, &e.Actor, &e.Action, &e.Subject, &e.Before, &e.After, &e.PrevHash, &e.Hash); err != nil {
			return 0, fmt.Errorf("audit verify: %w", err)
		}
		switch {
		case e.Seq != want:
			return 0, &AuditBreak{Seq: want, Reason: fmt.Sprintf("missing: the next entry is %d (deleted?)", e.Seq)}
		case e.PrevHash != prev:
			return 0, &AuditBreak{Seq: e.Seq, Reason: "its previous hash does not match the entry before it (inserted or reordered?)"}
		case entryHash(&e) != e.Hash:
			return 0, &AuditBreak{Seq: e.Seq, Reason: "its content does not match its hash (edited?)"}
		case e.Seq > head.Seq:
			return 0, &AuditBreak{Seq: e.Seq, Reason: fmt.Sprintf("it comes after the last entry written (%d): inserted?", head.Seq)}
		}
		prev, want = e.Hash, want+1
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("audit verify: %w", err)
	}
	if n := want - 1; n != head.Seq || prev != head.Hash {
		return 0, &AuditBreak{Seq: n + 1, Reason: fmt.Sprintf("the log ends at entry %d but %d were written (entries deleted from the end?)", n, head.Seq)}
	}
	return head.Seq, nil
}
