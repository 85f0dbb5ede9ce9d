package ratings

import (
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Date is a calendar date written YYYY-MM-DD; "" is NULL. It reads DATE
// columns (PostgreSQL) and TEXT columns (SQLite) alike.
type Date string

// Value implements driver.Valuer.
func (d Date) Value() (driver.Value, error) {
	if d == "" {
		return nil, nil
	}
	return string(d), nil
}

// Scan implements sql.Scanner.
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = ""
	case time.Time:
		*d = Date(v.Format(time.DateOnly))
	case string:
		*d = Date(trimDate(v))
	case []byte:
		*d = Date(trimDate(string(v)))
	default:
		return fmt.Errorf("scan date: unexpected %T", src)
	}
	return nil
}

func trimDate(s string) string {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}

// Employer is a rated employer (用人单位), keyed by its USCC.
type Employer struct {
	bun.BaseModel `bun:"table:employers"`

	ID        int64     `bun:"id,pk,autoincrement" json:"-"`
	USCC      string    `bun:"uscc" json:"uscc"`
	Name      string    `bun:"name" json:"name"`
	Region    string    `bun:"region" json:"region"`
	Industry  string    `bun:"industry" json:"industry"`
	Employees int       `bun:"employees" json:"employees"`
	CreatedAt time.Time `bun:"created_at,nullzero,default:current_timestamp" json:"-"`
}

// AnnualReview is an employer's yearly written declaration (书面审查).
type AnnualReview struct {
	bun.BaseModel `bun:"table:annual_reviews"`

	EmployerID      int64 `bun:"employer_id,pk"`
	Period          int   `bun:"period,pk"`
	Submitted       bool  `bun:"submitted"`
	OnTime          bool  `bun:"on_time"`
	Employees       int   `bun:"employees"`
	ContractsSigned int   `bun:"contracts_signed"`
	Insured         int   `bun:"insured"`
	RosterComplete  bool  `bun:"roster_complete"`
}

// Case is an inspection or complaint case (案件).
type Case struct {
	bun.BaseModel `bun:"table:cases"`

	ID              int64    `bun:"id,pk,autoincrement"`
	CaseNo          string   `bun:"case_no"`
	EmployerID      int64    `bun:"employer_id"`
	Source          string   `bun:"source"`
	Opened          Date     `bun:"opened"`
	Concluded       Date     `bun:"concluded"`
	Outcome         string   `bun:"outcome"`
	OrderRefused    bool     `bun:"order_refused"`
	Obstructed      bool     `bun:"obstructed"`
	MassIncident    bool     `bun:"mass_incident"`
	SeriousImpact   bool     `bun:"serious_impact"`
	Criminal        bool     `bun:"criminal"`
	BackWages       float64  `bun:"back_wages"`
	WorkersAffected int      `bun:"workers_affected"`
	Violations      []string `bun:"-"`
}

// CaseViolation is one violation found in a case.
type CaseViolation struct {
	bun.BaseModel `bun:"table:case_violations"`

	CaseID    int64  `bun:"case_id,pk"`
	Violation string `bun:"violation,pk"`
}

// Complaint is a complaint or report received about an employer, without
// the complainant's personal data.
type Complaint struct {
	bun.BaseModel `bun:"table:complaints"`

	ID          int64  `bun:"id,pk,autoincrement"`
	ComplaintNo string `bun:"complaint_no"`
	EmployerID  int64  `bun:"employer_id"`
	Received    Date   `bun:"received"`
}

// WageDeposit is the wage-guarantee deposit obligation of one period.
type WageDeposit struct {
	bun.BaseModel `bun:"table:wage_deposits"`

	EmployerID int64 `bun:"employer_id,pk"`
	Period     int   `bun:"period,pk"`
	Required   bool  `bun:"required"`
	Paid       bool  `bun:"paid"`
}

// BlacklistEntry is a span on the wage-arrears joint-punishment list.
type BlacklistEntry struct {
	bun.BaseModel `bun:"table:blacklist_entries"`

	ID         int64 `bun:"id,pk,autoincrement"`
	EmployerID int64 `bun:"employer_id"`
	ListedOn   Date  `bun:"listed_on"`
	RemovedOn  Date  `bun:"removed_on"`
}

// StoredRuleSet is a rule set as stored: immutable, with its hash.
type StoredRuleSet struct {
	bun.BaseModel `bun:"table:rule_sets"`

	ID         int64     `bun:"id,pk,autoincrement" json:"id"`
	Code       string    `bun:"code" json:"code"`
	Version    int       `bun:"version" json:"version"`
	Hash       string    `bun:"hash" json:"hash"`
	Title      string    `bun:"title" json:"title"`
	Source     string    `bun:"source" json:"-"`
	UploadedBy string    `bun:"uploaded_by" json:"uploaded_by"`
	UploadedAt time.Time `bun:"uploaded_at,nullzero,default:current_timestamp" json:"uploaded_at"`
}

// Period is one rating year with the rule set activated for it.
type Period struct {
	bun.BaseModel `bun:"table:periods"`

	Year          int        `bun:"year,pk" json:"year"`
	RuleSetID     *int64     `bun:"rule_set_id" json:"rule_set_id"`
	ActivatedBy   *string    `bun:"activated_by" json:"activated_by,omitempty"`
	ActivatedAt   *time.Time `bun:"activated_at" json:"activated_at,omitempty"`
	PublicityDays int        `bun:"publicity_days" json:"publicity_days"`
	CreatedAt     time.Time  `bun:"created_at,nullzero,default:current_timestamp" json:"created_at"`
}

// Rating statuses, in workflow order.
const (
	StatusRated      = "rated"
	StatusReviewed   = "reviewed"
	StatusConfirmed  = "confirmed"
	StatusPublicized = "publicized"
	StatusPublished  = "published"
)

// Rating is one version of an employer's rating for a period: the decision
// record (rule set and hash, the facts it was computed from, the engine's
// result) and where it stands in the workflow.
type Rating struct {
	bun.BaseModel `bun:"table:ratings"`

	ID             int64      `bun:"id,pk,autoincrement" json:"id"`
	EmployerID     int64      `bun:"employer_id" json:"-"`
	Period         int        `bun:"period" json:"period"`
	Version        int        `bun:"version" json:"version"`
	Current        bool       `bun:"current" json:"current"`
	Status         string     `bun:"status" json:"status"`
	RuleSetID      int64      `bun:"rule_set_id" json:"-"`
	RuleSetHash    string     `bun:"rule_set_hash" json:"rule_set_hash"`
	EngineGrade    string     `bun:"engine_grade" json:"engine_grade"`
	Grade          string     `bun:"grade" json:"grade"`
	Score          *float64   `bun:"score" json:"score"`
	Result         string     `bun:"result" json:"-"`
	Facts          string     `bun:"facts" json:"-"`
	OverrideReason *string    `bun:"override_reason" json:"override_reason,omitempty"`
	Reason         *string    `bun:"reason" json:"reason,omitempty"`
	ComputedAt     time.Time  `bun:"computed_at" json:"computed_at"`
	LockVersion    int        `bun:"lock_version" json:"lock_version"`
	PublicizedAt   *time.Time `bun:"publicized_at" json:"publicized_at,omitempty"`
	PublicityEnds  Date       `bun:"publicity_ends" json:"publicity_ends,omitempty"`
	PublishedAt    *time.Time `bun:"published_at" json:"published_at,omitempty"`
	FeedSeq        *int64     `bun:"feed_seq" json:"-"` // order of publication in the changes feed
}

// RatingRun is one run of the rating cycle; it resumes from Cursor (the
// last employer id done).
type RatingRun struct {
	bun.BaseModel `bun:"table:rating_runs"`

	ID         int64      `bun:"id,pk,autoincrement"`
	Period     int        `bun:"period"`
	Region     string     `bun:"region"`
	RuleSetID  int64      `bun:"rule_set_id"`
	Cursor     int64      `bun:"cursor"`
	Rated      int        `bun:"rated"`
	Unchanged  int        `bun:"unchanged"`
	Held       int        `bun:"held"`
	StartedAt  time.Time  `bun:"started_at"`
	FinishedAt *time.Time `bun:"finished_at"`
}

// LegacyCode is an allowed USCC that fails its check character.
type LegacyCode struct {
	bun.BaseModel `bun:"table:legacy_codes"`

	USCC    string    `bun:"uscc,pk"`
	Reason  string    `bun:"reason"`
	AddedBy string    `bun:"added_by"`
	AddedAt time.Time `bun:"added_at,nullzero,default:current_timestamp"`
}

// Objection outcomes: an objection is open until an officer decides it.
const (
	ObjectionOpen         = "open"
	ObjectionUpheld       = "upheld"       // the rating goes back to review
	ObjectionRejected     = "rejected"     // verified and found unfounded
	ObjectionInadmissible = "inadmissible" // not taken up: a duplicate, no reason given, out of scope
)

// Objection is a written, named objection (异议) to a publicized rating.
// Contact and Address identify the objector for the office (and the
// limits); they are never published.
type Objection struct {
	bun.BaseModel `bun:"table:objections"`

	ID         int64      `bun:"id,pk,autoincrement" json:"id"`
	RatingID   int64      `bun:"rating_id" json:"rating_id"`
	FiledBy    string     `bun:"filed_by" json:"filed_by"`
	Contact    string     `bun:"contact" json:"contact"`
	Address    string     `bun:"address" json:"-"`
	ByEmployer bool       `bun:"by_employer" json:"by_employer"`
	FiledAt    time.Time  `bun:"filed_at" json:"filed_at"`
	Reason     string     `bun:"reason" json:"reason"`
	Evidence   string     `bun:"evidence" json:"evidence"`
	Status     string     `bun:"status" json:"status"`
	DecidedBy  *string    `bun:"decided_by" json:"decided_by,omitempty"`
	DecidedAt  *time.Time `bun:"decided_at" json:"decided_at,omitempty"`
	Decision   *string    `bun:"decision" json:"decision,omitempty"`
}
