-- laborcredit schema, PostgreSQL. Identical in meaning to sqlite/ of the same id.

CREATE TABLE employers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uscc       text NOT NULL UNIQUE CHECK (length(uscc) = 18 OR (length(uscc) = 15 AND uscc ~ '^[0-9]{15}$')),
    name       text NOT NULL CHECK (name <> ''),
    region     text NOT NULL CHECK (region ~ '^[0-9]{6}$'),
    industry   text NOT NULL DEFAULT '',
    employees  integer NOT NULL DEFAULT 0 CHECK (employees >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
--bun:split
CREATE INDEX employers_region_idx ON employers (region text_pattern_ops, id);
--bun:split
CREATE INDEX employers_name_idx ON employers (name text_pattern_ops);
--bun:split

-- Codes that fail the GB 32100 check character but are real (early pilot
-- codes); only an admin adds to it, with an audit entry.
CREATE TABLE legacy_codes (
    uscc     text PRIMARY KEY CHECK (length(uscc) = 18),
    reason   text NOT NULL CHECK (reason <> ''),
    added_by text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now()
);
--bun:split

-- The yearly written declaration (书面审查).
CREATE TABLE annual_reviews (
    employer_id      bigint NOT NULL REFERENCES employers (id),
    period           integer NOT NULL CHECK (period BETWEEN 1990 AND 2100),
    submitted        boolean NOT NULL,
    on_time          boolean NOT NULL,
    employees        integer NOT NULL DEFAULT 0 CHECK (employees >= 0),
    contracts_signed integer NOT NULL DEFAULT 0 CHECK (contracts_signed >= 0),
    insured          integer NOT NULL DEFAULT 0 CHECK (insured >= 0),
    roster_complete  boolean NOT NULL DEFAULT false,
    CHECK (submitted OR NOT on_time),
    PRIMARY KEY (employer_id, period)
);
--bun:split

CREATE TABLE cases (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_no          text NOT NULL UNIQUE CHECK (case_no <> ''),
    employer_id      bigint NOT NULL REFERENCES employers (id),
    source           text NOT NULL CHECK (source IN ('complaint', 'routine_inspection', 'special_inspection', 'written_review')),
    opened           date NOT NULL,
    concluded        date CHECK (concluded >= opened),
    outcome          text NOT NULL CHECK (outcome IN ('pending', 'no_violation', 'rectified', 'penalized')),
    order_refused    boolean NOT NULL DEFAULT false,
    obstructed       boolean NOT NULL DEFAULT false,
    mass_incident    boolean NOT NULL DEFAULT false,
    serious_impact   boolean NOT NULL DEFAULT false,
    criminal         boolean NOT NULL DEFAULT false,
    back_wages       numeric(16, 2) NOT NULL DEFAULT 0 CHECK (back_wages >= 0),
    workers_affected integer NOT NULL DEFAULT 0 CHECK (workers_affected >= 0),
    CHECK ((outcome = 'pending') = (concluded IS NULL))
);
--bun:split
CREATE INDEX cases_employer_idx ON cases (employer_id, opened);
--bun:split

CREATE TABLE case_violations (
    case_id   bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    violation text NOT NULL CHECK (violation IN ('child_labor', 'forced_labor', 'wage_arrears', 'below_min_wage',
        'overtime', 'no_contract', 'social_insurance', 'illegal_dispatch', 'illegal_job_agency',
        'female_minor_protection', 'deposit_or_id_retention', 'discrimination', 'no_roster', 'other')),
    PRIMARY KEY (case_id, violation)
);
--bun:split

-- Complaints and reports (举报投诉), without the complainant's personal data.
CREATE TABLE complaints (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    complaint_no text NOT NULL UNIQUE CHECK (complaint_no <> ''),
    employer_id  bigint NOT NULL REFERENCES employers (id),
    received     date NOT NULL
);
--bun:split
CREATE INDEX complaints_employer_idx ON complaints (employer_id, received);
--bun:split

-- Wage-guarantee deposits (工资保证金), per employer and period.
CREATE TABLE wage_deposits (
    employer_id bigint NOT NULL REFERENCES employers (id),
    period      integer NOT NULL CHECK (period BETWEEN 1990 AND 2100),
    required    boolean NOT NULL,
    paid        boolean NOT NULL,
    PRIMARY KEY (employer_id, period)
);
--bun:split

-- The wage-arrears joint-punishment list (人社部令第45号): listed for a span.
CREATE TABLE blacklist_entries (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    employer_id bigint NOT NULL REFERENCES employers (id),
    listed_on   date NOT NULL,
    removed_on  date CHECK (removed_on >= listed_on),
    UNIQUE (employer_id, listed_on)
);
--bun:split

-- Rule sets: immutable once stored; the hash is of the canonical content.
CREATE TABLE rule_sets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL CHECK (code <> ''),
    version     integer NOT NULL CHECK (version >= 0),
    hash        text NOT NULL UNIQUE CHECK (hash LIKE 'sha256:%'),
    title       text NOT NULL DEFAULT '',
    source      text NOT NULL,
    uploaded_by text NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (code, version)
);
--bun:split
CREATE FUNCTION laborcredit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END;
$$;
--bun:split
CREATE TRIGGER rule_sets_immutable BEFORE UPDATE OR DELETE ON rule_sets
    FOR EACH ROW EXECUTE FUNCTION laborcredit_immutable();
--bun:split

-- Rating periods (one a year) and the rule set activated for each.
CREATE TABLE periods (
    year             integer PRIMARY KEY CHECK (year BETWEEN 1990 AND 2100),
    rule_set_id      bigint REFERENCES rule_sets (id),
    activated_by     text,
    activated_at     timestamptz,
    publicity_days   integer NOT NULL DEFAULT 5 CHECK (publicity_days BETWEEN 1 AND 60),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((rule_set_id IS NULL) = (activated_at IS NULL))
);
--bun:split

-- Ratings: append-only decision records. A correction or re-rating is a new
-- version; exactly one version per employer and period is current.
CREATE TABLE ratings (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    employer_id     bigint NOT NULL REFERENCES employers (id),
    period          integer NOT NULL REFERENCES periods (year),
    version         integer NOT NULL CHECK (version >= 1),
    current         boolean NOT NULL,
    status          text NOT NULL CHECK (status IN ('rated', 'reviewed', 'confirmed', 'publicized', 'published')),
    rule_set_id     bigint NOT NULL REFERENCES rule_sets (id),
    rule_set_hash   text NOT NULL,
    engine_grade    text NOT NULL,
    grade           text NOT NULL,
    score           double precision,
    result          jsonb NOT NULL,
    facts           jsonb NOT NULL,
    override_reason text,
    reason          text,
    computed_at     timestamptz NOT NULL,
    lock_version    integer NOT NULL DEFAULT 1,
    publicized_at   timestamptz,
    publicity_ends  date,
    published_at    timestamptz,
    UNIQUE (employer_id, period, version),
    CHECK (grade = engine_grade OR override_reason IS NOT NULL)
);
--bun:split
CREATE UNIQUE INDEX ratings_current_idx ON ratings (employer_id, period) WHERE current;
--bun:split
CREATE INDEX ratings_period_idx ON ratings (period, status) WHERE current;
--bun:split

-- A resumable run of the rating cycle over one period and region.
CREATE TABLE rating_runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period         integer NOT NULL REFERENCES periods (year),
    region         text NOT NULL CHECK (region ~ '^[0-9]{6}$'),
    rule_set_id    bigint NOT NULL REFERENCES rule_sets (id),
    cursor         bigint NOT NULL DEFAULT 0,
    rated          integer NOT NULL DEFAULT 0,
    unchanged      integer NOT NULL DEFAULT 0,
    held           integer NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz
);
--bun:split

CREATE TABLE objections (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rating_id      bigint NOT NULL REFERENCES ratings (id),
    filed_by       text NOT NULL CHECK (filed_by <> ''),
    filed_at       timestamptz NOT NULL,
    reason         text NOT NULL CHECK (reason <> ''),
    evidence       text NOT NULL DEFAULT '',
    status         text NOT NULL CHECK (status IN ('open', 'upheld', 'rejected')),
    decided_by     text,
    decided_at     timestamptz,
    decision       text,
    CHECK ((status = 'open') = (decided_at IS NULL))
);
--bun:split

CREATE TABLE award_nominations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    employer_id  bigint NOT NULL REFERENCES employers (id),
    period       integer NOT NULL REFERENCES periods (year),
    award        text NOT NULL,
    nominated_by text NOT NULL,
    nominated_at timestamptz NOT NULL,
    status       text NOT NULL CHECK (status IN ('nominated', 'approved', 'rejected')),
    decided_by   text,
    decided_at   timestamptz,
    reason       text,
    UNIQUE (employer_id, period, award),
    CHECK (status <> 'rejected' OR reason IS NOT NULL)
);
--bun:split

-- Officers, employer users and admins, and their API tokens (stored hashed).
CREATE TABLE users (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL CHECK (name <> ''),
    role       text NOT NULL CHECK (role IN ('county', 'city', 'province', 'admin', 'employer')),
    region     text NOT NULL CHECK (region ~ '^[0-9]{6}$'),
    uscc       text REFERENCES employers (uscc),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'employer') = (uscc IS NOT NULL))
);
--bun:split
CREATE TABLE tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id),
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
--bun:split

-- Credit-sharing clients (banks, commerce and construction bureaus).
CREATE TABLE api_clients (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org        text NOT NULL CHECK (org <> ''),
    kind       text NOT NULL CHECK (kind IN ('bank', 'commerce', 'construction')),
    scope      text NOT NULL,
    key_hash   text NOT NULL UNIQUE,
    rate_limit double precision NOT NULL DEFAULT 50 CHECK (rate_limit > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
--bun:split

-- The append-only audit log; each entry's hash chains to the previous one.
CREATE TABLE audit_log (
    seq       bigint PRIMARY KEY CHECK (seq >= 1),
    at        timestamptz NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    subject   text NOT NULL,
    -- text, not jsonb: the hash covers the exact bytes written
    before    text CHECK (before IS NULL OR (before::jsonb) IS NOT NULL),
    after     text CHECK (after IS NULL OR (after::jsonb) IS NOT NULL),
    prev_hash text NOT NULL,
    hash      text NOT NULL UNIQUE
);
--bun:split
CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION laborcredit_immutable();
--bun:split

-- The head of the audit chain: one row, updated under its row lock by every
-- append, so appends are serial; audit verify checks the log ends here.
CREATE TABLE audit_head (
    id   bigint PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash text NOT NULL
);
--bun:split
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
