package ratings

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// User is an officer, an admin or an employer's user.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	Name      string    `bun:"name" json:"name"`
	Role      Role      `bun:"role" json:"role"`
	Region    string    `bun:"region" json:"region"`
	USCC      *string   `bun:"uscc" json:"uscc,omitempty"`
	CreatedAt time.Time `bun:"created_at,nullzero,default:current_timestamp" json:"created_at"`
}

type token struct {
	bun.BaseModel `bun:"table:tokens"`

	ID        int64      `bun:"id,pk,autoincrement"`
	UserID    int64      `bun:"user_id"`
	TokenHash string     `bun:"token_hash"`
	CreatedAt time.Time  `bun:"created_at,nullzero,default:current_timestamp"`
	ExpiresAt *time.Time `bun:"expires_at"` // nil: made before tokens expired; created_at + DefaultTokenTTL
	RevokedAt *time.Time `bun:"revoked_at"`
}

// DefaultTokenTTL is how long a user token is valid by default: 90 days
// (ServiceParams.TokenTTL).
const DefaultTokenTTL = 90 * 24 * time.Hour

// expiry is when the token stops being valid.
func (t *token) expiry() time.Time {
	if t.ExpiresAt != nil {
		return *t.ExpiresAt
	}
	return t.CreatedAt.Add(DefaultTokenTTL)
}

// newToken makes a token of user id, valid for the service's token TTL
// from now, and returns it with its secret.
func (s *Service) newToken(userID int64) (*token, string) {
	secret, hash := newSecret("lct_")
	now := s.now().UTC()
	exp := now.Add(s.tokenTTL)
	return &token{UserID: userID, TokenHash: hash, CreatedAt: now, ExpiresAt: &exp}, secret
}

// APIClient is a bank or a commerce or construction bureau that queries
// published ratings with an API key.
type APIClient struct {
	bun.BaseModel `bun:"table:api_clients"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Org       string     `bun:"org" json:"org"`
	Kind      string     `bun:"kind" json:"kind"`
	Scope     string     `bun:"scope" json:"scope"`
	KeyHash   string     `bun:"key_hash" json:"-"`
	RateLimit float64    `bun:"rate_limit" json:"rate_limit"` // requests per second
	CreatedAt time.Time  `bun:"created_at,nullzero,default:current_timestamp" json:"created_at"`
	RevokedAt *time.Time `bun:"revoked_at" json:"revoked_at,omitempty"`
}

// ScopeCreditRead lets a client read published ratings.
const ScopeCreditRead = "credit:read"

// HasScope reports whether the client was granted a scope.
func (c *APIClient) HasScope(scope string) bool {
	return slices.Contains(strings.Fields(strings.ReplaceAll(c.Scope, ",", " ")), scope)
}

// newSecret returns a random secret with a prefix telling what it is, and
// the hash it is stored under (secrets are shown once and never stored).
func newSecret(prefix string) (secret, hash string) {
	b := make([]byte, 24)
	rand.Read(b)
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret)
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// CreateUser makes a user and its first token. Only an admin may. The
// token is returned once; only its hash is kept.
func (s *Service) CreateUser(ctx context.Context, a Actor, name string, role Role, region, uscc string) (*User, string, error) {
	if err := a.require(RoleAdmin); err != nil {
		return nil, "", err
	}
	if strings.TrimSpace(name) == "" {
		return nil, "", invalid("name", "required")
	}
	if !slices.Contains([]Role{RoleCounty, RoleCity, RoleProvince, RoleAdmin, RoleEmployer}, role) {
		return nil, "", invalid("role", "%q is not one of county, city, province, admin, employer", role)
	}
	u := &User{Name: name, Role: role, Region: region, CreatedAt: s.now().UTC()}
	var secret string
	err := s.inTx(ctx, func(tx bun.Tx) error {
		if role == RoleEmployer {
			e, err := EmployerByCode(ctx, tx, uscc)
			if err != nil {
				return invalid("uscc", "an employer user needs the code of a registered employer: %v", err)
			}
			u.USCC, u.Region = &e.USCC, e.Region
		} else {
			if uscc != "" {
				return invalid("uscc", "only employer users have a code")
			}
			if err := s.regions.Check(region); err != nil {
				return invalid("region", "%v", err)
			}
			if want := map[Role]int{RoleProvince: LevelProvince, RoleCity: LevelPrefecture, RoleCounty: LevelCounty}[role]; want != 0 {
				if r, _ := s.regions.Lookup(region); r.Level != want {
					return invalid("region", "a %s officer's region must be a %s-level code, %s (%s) is not", role, role, region, r.Name)
				}
			}
		}
		if _, err := tx.NewInsert().Model(u).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("create user: %w", dbError(err))
		}
		tok, sec := s.newToken(u.ID)
		if _, err := tx.NewInsert().Model(tok).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("create token: %w", dbError(err))
		}
		secret = sec
		return appendAudit(ctx, tx, s.now(), a, "user.create", fmt.Sprintf("user:%d", u.ID), nil,
			map[string]any{"name": name, "role": role, "region": u.Region, "uscc": u.USCC, "token": tok.ID, "expires_at": tok.ExpiresAt})
	})
	if err != nil {
		return nil, "", err
	}
	return u, secret, nil
}

// ActorForToken finds who a bearer token belongs to. Unknown, revoked
// and expired tokens are all ErrUnauthenticated, alike.
func (s *Service) ActorForToken(ctx context.Context, secret string) (Actor, error) {
	if !strings.HasPrefix(secret, "lct_") {
		return Actor{}, ErrUnauthenticated
	}
	var tok token
	err := s.db.NewSelect().Model(&tok).Where("token_hash = ? AND revoked_at IS NULL", hashSecret(secret)).Scan(ctx)
	if errors.Is(dbError(err), ErrNotFound) {
		return Actor{}, ErrUnauthenticated
	}
	if err != nil {
		return Actor{}, err
	}
	if !s.now().Before(tok.expiry()) {
		return Actor{}, ErrUnauthenticated
	}
	var u User
	if err := s.db.NewSelect().Model(&u).Where("id = ?", tok.UserID).Scan(ctx); err != nil {
		return Actor{}, fmt.Errorf("user %d of a token: %w", tok.UserID, dbError(err))
	}
	a := Actor{Name: u.Name, Role: u.Role, Region: u.Region}
	if u.USCC != nil {
		a.USCC = *u.USCC
	}
	return a, nil
}

// ErrUnauthenticated: no credentials, or unknown, revoked or expired ones.
var ErrUnauthenticated = errors.New("unauthenticated")

// IssueToken makes a new token for a user, valid for the service's token
// TTL, and returns it once (only its hash is kept). Only an admin may.
// The user's other tokens stay valid.
func (s *Service) IssueToken(ctx context.Context, a Actor, userID int64) (string, time.Time, error) {
	if err := a.require(RoleAdmin); err != nil {
		return "", time.Time{}, err
	}
	tok, secret := s.newToken(userID)
	err := s.inTx(ctx, func(tx bun.Tx) error {
		if err := tx.NewSelect().Model((*User)(nil)).Column("id").Where("id = ?", userID).Scan(ctx, new(int64)); err != nil {
			return fmt.Errorf("user %d: %w", userID, dbError(err))
		}
		if _, err := tx.NewInsert().Model(tok).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("create token: %w", dbError(err))
		}
		return appendAudit(ctx, tx, s.now(), a, "user.token", fmt.Sprintf("user:%d", userID), nil,
			map[string]any{"token": tok.ID, "expires_at": tok.ExpiresAt})
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return secret, *tok.ExpiresAt, nil
}

// RevokeUser revokes every valid token of a user and returns how many it
// revoked; the user can no longer act until given a new token
// (IssueToken). Only an admin may. ErrNotFound: no such user.
func (s *Service) RevokeUser(ctx context.Context, a Actor, userID int64) (int, error) {
	if err := a.require(RoleAdmin); err != nil {
		return 0, err
	}
	var n int64
	err := s.inTx(ctx, func(tx bun.Tx) error {
		if err := tx.NewSelect().Model((*User)(nil)).Column("id").Where("id = ?", userID).Scan(ctx, new(int64)); err != nil {
			return fmt.Errorf("user %d: %w", userID, dbError(err))
		}
		res, err := tx.NewUpdate().Model((*token)(nil)).Set("revoked_at = ?", s.now().UTC()).
			Where("user_id = ? AND revoked_at IS NULL", userID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("revoke tokens of user %d: %w", userID, dbError(err))
		}
		n, _ = res.RowsAffected()
		return appendAudit(ctx, tx, s.now(), a, "user.revoke", fmt.Sprintf("user:%d", userID), nil, map[string]any{"tokens": n})
	})
	return int(n), err
}

// UserToken is one token of a user as listed: never its secret.
type UserToken struct {
	ID        int64      `json:"id"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// UserListing is a user with its tokens, oldest first.
type UserListing struct {
	User
	Tokens []UserToken `json:"tokens"`
}

// Users lists every user with its tokens, by id. Only an admin may.
func (s *Service) Users(ctx context.Context, a Actor) ([]UserListing, error) {
	if err := a.require(RoleAdmin); err != nil {
		return nil, err
	}
	var users []User
	if err := s.db.NewSelect().Model(&users).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	var toks []token
	if err := s.db.NewSelect().Model(&toks).Order("user_id", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	byUser := map[int64][]UserToken{}
	for _, t := range toks {
		ut := UserToken{ID: t.ID, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.expiry().UTC(), RevokedAt: t.RevokedAt}
		byUser[t.UserID] = append(byUser[t.UserID], ut)
	}
	out := make([]UserListing, len(users))
	for i, u := range users {
		out[i] = UserListing{User: u, Tokens: byUser[u.ID]}
		if out[i].Tokens == nil {
			out[i].Tokens = []UserToken{}
		}
	}
	return out, nil
}

// CreateAPIClient registers a credit-sharing client and returns its key,
// shown once. Only an admin may.
func (s *Service) CreateAPIClient(ctx context.Context, a Actor, org, kind, scope string, rate float64) (*APIClient, string, error) {
	if err := a.require(RoleAdmin); err != nil {
		return nil, "", err
	}
	if strings.TrimSpace(org) == "" {
		return nil, "", invalid("org", "required")
	}
	if !slices.Contains([]string{"bank", "commerce", "construction"}, kind) {
		return nil, "", invalid("kind", "%q is not one of bank, commerce, construction", kind)
	}
	if scope != ScopeCreditRead {
		return nil, "", invalid("scope", "%q is not a known scope (want %s)", scope, ScopeCreditRead)
	}
	if rate <= 0 {
		rate = 50
	}
	secret, hash := newSecret("lck_")
	c := &APIClient{Org: org, Kind: kind, Scope: scope, KeyHash: hash, RateLimit: rate, CreatedAt: s.now().UTC()}
	err := s.inTx(ctx, func(tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(c).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("create api client: %w", dbError(err))
		}
		return appendAudit(ctx, tx, s.now(), a, "apikey.create", fmt.Sprintf("api_client:%d", c.ID), nil,
			map[string]any{"org": org, "kind": kind, "scope": scope, "rate": rate})
	})
	if err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// APIClients lists every credit-sharing client, revoked ones included,
// by id. Only an admin may.
func (s *Service) APIClients(ctx context.Context, a Actor) ([]APIClient, error) {
	if err := a.require(RoleAdmin); err != nil {
		return nil, err
	}
	var cs []APIClient
	if err := s.db.NewSelect().Model(&cs).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list api clients: %w", err)
	}
	return cs, nil
}

// RevokeAPIClient revokes a client's key. Only an admin may.
func (s *Service) RevokeAPIClient(ctx context.Context, a Actor, id int64) error {
	if err := a.require(RoleAdmin); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*APIClient)(nil)).Set("revoked_at = ?", s.now().UTC()).Where("id = ? AND revoked_at IS NULL", id).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("api client %d: %w", id, ErrNotFound)
		}
		s.clients.forget()
		return appendAudit(ctx, tx, s.now(), a, "apikey.revoke", fmt.Sprintf("api_client:%d", id), nil, nil)
	})
}

// clientCache keeps API clients by key hash for a few seconds, so that a
// credit query costs no extra round trip; a revocation takes effect within
// clientCacheTTL everywhere (at once on the replica that revoked).
type clientCache struct {
	mu sync.Mutex
	m  map[string]cachedClient
}

type cachedClient struct {
	c   *APIClient // nil: unknown or revoked
	exp time.Time
}

const clientCacheTTL = 5 * time.Second

func (cc *clientCache) forget() {
	cc.mu.Lock()
	cc.m = nil
	cc.mu.Unlock()
}

// ClientForKey finds the credit-sharing client an API key belongs to;
// unknown and revoked keys are ErrUnauthenticated.
func (s *Service) ClientForKey(ctx context.Context, key string) (*APIClient, error) {
	if !strings.HasPrefix(key, "lck_") {
		return nil, ErrUnauthenticated
	}
	h := hashSecret(key)
	now := time.Now()
	s.clients.mu.Lock()
	cached, ok := s.clients.m[h]
	s.clients.mu.Unlock()
	if !ok || now.After(cached.exp) {
		var c APIClient
		err := s.db.NewSelect().Model(&c).Where("key_hash = ?", h).Scan(ctx)
		cached = cachedClient{exp: now.Add(clientCacheTTL)}
		switch {
		case err == nil && c.RevokedAt == nil:
			cached.c = &c
		case err == nil, errors.Is(dbError(err), ErrNotFound):
		default:
			return nil, err
		}
		s.clients.mu.Lock()
		if s.clients.m == nil || len(s.clients.m) > 10000 {
			s.clients.m = map[string]cachedClient{}
		}
		s.clients.m[h] = cached
		s.clients.mu.Unlock()
	}
	if cached.c == nil {
		return nil, ErrUnauthenticated
	}
	return cached.c, nil
}
