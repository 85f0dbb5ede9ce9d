-- laborcredit schema, SQLite. Identical in meaning to postgres/ of the same id.
-- Dates are TEXT 'YYYY-MM-DD' (checked with date()), booleans 0/1, JSON TEXT.

CREATE TABLE employers (
    id         INTEGER PRIMARY KEY,
    uscc       TEXT NOT NULL UNIQUE CHECK (length(uscc) = 18 OR (length(uscc) = 15 AND uscc GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]')),
    name       TEXT NOT NULL CHECK (name <> ''),
    region     TEXT NOT NULL CHECK (region GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]'),
    industry   TEXT NOT NULL DEFAULT '',
    employees  INTEGER NOT NULL DEFAULT 0 CHECK (employees >= 0),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
--bun:split
CREATE INDEX employers_region_idx ON employers (region, id);
--bun:split
CREATE INDEX employers_name_idx ON employers (name);
--bun:split

CREATE TABLE legacy_codes (
    uscc     TEXT PRIMARY KEY CHECK (length(uscc) = 18),
    reason   TEXT NOT NULL CHECK (reason <> ''),
    added_by TEXT NOT NULL,
    added_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
--bun:split

CREATE TABLE annual_reviews (
    employer_id      INTEGER NOT NULL REFERENCES employers (id),
    period           INTEGER NOT NULL CHECK (period BETWEEN 1990 AND 2100),
    submitted        INTEGER NOT NULL CHECK (submitted IN (0, 1)),
    on_time          INTEGER NOT NULL CHECK (on_time IN (0, 1)),
    employees        INTEGER NOT NULL DEFAULT 0 CHECK (employees >= 0),
    contracts_signed INTEGER NOT NULL DEFAULT 0 CHECK (contracts_signed >= 0),
    insured          INTEGER NOT NULL DEFAULT 0 CHECK (insured >= 0),
    roster_complete  INTEGER NOT NULL DEFAULT 0 CHECK (roster_complete IN (0, 1)),
    CHECK (submitted OR NOT on_time),
    PRIMARY KEY (employer_id, period)
) WITHOUT ROWID;
--bun:split

CREATE TABLE cases (
    id               INTEGER PRIMARY KEY,
    case_no          TEXT NOT NULL UNIQUE CHECK (case_no <> ''),
    employer_id      INTEGER NOT NULL REFERENCES employers (id),
    source           TEXT NOT NULL CHECK (source IN ('complaint', 'routine_inspection', 'special_inspection', 'written_review')),
    opened           TEXT NOT NULL CHECK (opened = date(opened)),
    concluded        TEXT CHECK (concluded = date(concluded) AND concluded >= opened),
    outcome          TEXT NOT NULL CHECK (outcome IN ('pending', 'no_violation', 'rectified', 'penalized')),
    order_refused    INTEGER NOT NULL DEFAULT 0 CHECK (order_refused IN (0, 1)),
    obstructed       INTEGER NOT NULL DEFAULT 0 CHECK (obstructed IN (0, 1)),
    mass_incident    INTEGER NOT NULL DEFAULT 0 CHECK (mass_incident IN (0, 1)),
    serious_impact   INTEGER NOT NULL DEFAULT 0 CHECK (serious_impact IN (0, 1)),
    criminal         INTEGER NOT NULL DEFAULT 0 CHECK (criminal IN (0, 1)),
    back_wages       REAL NOT NULL DEFAULT 0 CHECK (back_wages >= 0),
    workers_affected INTEGER NOT NULL DEFAULT 0 CHECK (workers_affected >= 0),
    CHECK ((outcome = 'pending') = (concluded IS NULL))
);
--bun:split
CREATE INDEX cases_employer_idx ON cases (employer_id, opened);
--bun:split

CREATE TABLE case_violations (
    case_id   INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    violation TEXT NOT NULL CHECK (violation IN ('child_labor', 'forced_labor', 'wage_arrears', 'below_min_wage',
        'overtime', 'no_contract', 'social_insurance', 'illegal_dispatch', 'illegal_job_agency',
        'female_minor_protection', 'deposit_or_id_retention', 'discrimination', 'no_roster', 'other')),
    PRIMARY KEY (case_id, violation)
) WITHOUT ROWID;
--bun:split

CREATE TABLE complaints (
    id           INTEGER PRIMARY KEY,
    complaint_no TEXT NOT NULL UNIQUE CHECK (complaint_no <> ''),
    employer_id  INTEGER NOT NULL REFERENCES employers (id),
    received     TEXT NOT NULL CHECK (received = date(received))
);
--bun:split
CREATE INDEX complaints_employer_idx ON complaints (employer_id, received);
--bun:split

CREATE TABLE wage_deposits (
    employer_id INTEGER NOT NULL REFERENCES employers (id),
    period      INTEGER NOT NULL CHECK (period BETWEEN 1990 AND 2100),
    required    INTEGER NOT NULL CHECK (required IN (0, 1)),
    paid        INTEGER NOT NULL CHECK (paid IN (0, 1)),
    PRIMARY KEY (employer_id, period)
) WITHOUT ROWID;
--bun:split

CREATE TABLE blacklist_entries (
    id          INTEGER PRIMARY KEY,
    employer_id INTEGER NOT NULL REFERENCES employers (id),
    listed_on   TEXT NOT NULL CHECK (listed_on = date(listed_on)),
    removed_on  TEXT CHECK (removed_on = date(removed_on) AND removed_on >= listed_on),
    UNIQUE (employer_id, listed_on)
);
--bun:split

CREATE TABLE rule_sets (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL CHECK (code <> ''),
    version     INTEGER NOT NULL CHECK (version >= 0),
    hash        TEXT NOT NULL UNIQUE CHECK (hash LIKE 'sha256:%'),
    title       TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (code, version)
);
--bun:split
CREATE TRIGGER rule_sets_no_update BEFORE UPDATE ON rule_sets
BEGIN
    SELECT RAISE(ABORT, 'rule_sets rows are immutable');
END;
--bun:split
CREATE TRIGGER rule_sets_no_delete BEFORE DELETE ON rule_sets
BEGIN
    SELECT RAISE(ABORT, 'rule_sets rows are immutable');
END;
--bun:split

CREATE TABLE periods (
    year             INTEGER PRIMARY KEY CHECK (year BETWEEN 1990 AND 2100),
    rule_set_id      INTEGER REFERENCES rule_sets (id),
    activated_by     TEXT,
    activated_at     TIMESTAMP,
    publicity_days   INTEGER NOT NULL DEFAULT 5 CHECK (publicity_days BETWEEN 1 AND 60),
    created_at       TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CHECK ((rule_set_id IS NULL) = (activated_at IS NULL))
);
--bun:split

CREATE TABLE ratings (
    id              INTEGER PRIMARY KEY,
    employer_id     INTEGER NOT NULL REFERENCES employers (id),
    period          INTEGER NOT NULL REFERENCES periods (year),
    version         INTEGER NOT NULL CHECK (version >= 1),
    current         INTEGER NOT NULL CHECK (current IN (0, 1)),
    status          TEXT NOT NULL CHECK (status IN ('rated', 'reviewed', 'confirmed', 'publicized', 'published')),
    rule_set_id     INTEGER NOT NULL REFERENCES rule_sets (id),
    rule_set_hash   TEXT NOT NULL,
    engine_grade    TEXT NOT NULL,
    grade           TEXT NOT NULL,
    score           REAL,
    result          TEXT NOT NULL CHECK (json_valid(result)),
    facts           TEXT NOT NULL CHECK (json_valid(facts)),
    override_reason TEXT,
    reason          TEXT,
    computed_at     TIMESTAMP NOT NULL,
    lock_version    INTEGER NOT NULL DEFAULT 1,
    publicized_at   TIMESTAMP,
    publicity_ends  TEXT CHECK (publicity_ends = date(publicity_ends)),
    published_at    TIMESTAMP,
    UNIQUE (employer_id, period, version),
    CHECK (grade = engine_grade OR override_reason IS NOT NULL)
);
--bun:split
CREATE UNIQUE INDEX ratings_current_idx ON ratings (employer_id, period) WHERE current;
--bun:split
CREATE INDEX ratings_period_idx ON ratings (period, status) WHERE current;
--bun:split

CREATE TABLE rating_runs (
    id             INTEGER PRIMARY KEY,
    period         INTEGER NOT NULL REFERENCES periods (year),
    region         TEXT NOT NULL CHECK (region GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]'),
    rule_set_id    INTEGER NOT NULL REFERENCES rule_sets (id),
    cursor         INTEGER NOT NULL DEFAULT 0,
    rated          INTEGER NOT NULL DEFAULT 0,
    unchanged      INTEGER NOT NULL DEFAULT 0,
    held           INTEGER NOT NULL DEFAULT 0,
    started_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP
);
--bun:split

CREATE TABLE objections (
    id             INTEGER PRIMARY KEY,
    rating_id      INTEGER NOT NULL REFERENCES ratings (id),
    filed_by       TEXT NOT NULL CHECK (filed_by <> ''),
    filed_at       TIMESTAMP NOT NULL,
    reason         TEXT NOT NULL CHECK (reason <> ''),
    evidence       TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL CHECK (status IN ('open', 'upheld', 'rejected')),
    decided_by     TEXT,
    decided_at     TIMESTAMP,
    decision       TEXT,
    CHECK ((status = 'open') = (decided_at IS NULL))
);
--bun:split

CREATE TABLE award_nominations (
    id           INTEGER PRIMARY KEY,
    employer_id  INTEGER NOT NULL REFERENCES employers (id),
    period       INTEGER NOT NULL REFERENCES periods (year),
    award        TEXT NOT NULL,
    nominated_by TEXT NOT NULL,
    nominated_at TIMESTAMP NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('nominated', 'approved', 'rejected')),
    decided_by   TEXT,
    decided_at   TIMESTAMP,
    reason       TEXT,
    UNIQUE (employer_id, period, award),
    CHECK (status <> 'rejected' OR reason IS NOT NULL)
);
--bun:split

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL CHECK (name <> ''),
    role       TEXT NOT NULL CHECK (role IN ('county', 'city', 'province', 'admin', 'employer')),
    region     TEXT NOT NULL CHECK (region GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]'),
    uscc       TEXT REFERENCES employers (uscc),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CHECK ((role = 'employer') = (uscc IS NOT NULL))
);
--bun:split
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    revoked_at TIMESTAMP
);
--bun:split

CREATE TABLE api_clients (
    id         INTEGER PRIMARY KEY,
    org        TEXT NOT NULL CHECK (org <> ''),
    kind       TEXT NOT NULL CHECK (kind IN ('bank', 'commerce', 'construction')),
    scope      TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    rate_limit REAL NOT NULL DEFAULT 50 CHECK (rate_limit > 0),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    revoked_at TIMESTAMP
);
--bun:split

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY CHECK (seq >= 1),
    at        TIMESTAMP NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    before    TEXT CHECK (before IS NULL OR json_valid(before)),
    after     TEXT CHECK (after IS NULL OR json_valid(after)),
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL UNIQUE
);
--bun:split
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows are immutable');
END;
--bun:split
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows are immutable');
END;
--bun:split

-- The head of the audit chain: one row, updated under its row lock by every
-- append, so appends are serial; audit verify checks the log ends here.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
--bun:split
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
