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
	RevokedAt *time.Time `bun:"revoked_at"`
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
	secret, hash := newSecret("lct_")
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
		if _, err := tx.NewInsert().Model(&token{UserID: u.ID, TokenHash: hash, CreatedAt: s.now().UTC()}).Exec(ctx); err != nil {
			return fmt.Errorf("create token: %w", dbError(err))
		}
		return appendAudit(ctx, tx, s.now(), a, "user.create", fmt.Sprintf("user:%d", u.ID), nil,
			map[string]any{"name": name, "role": role, "region": u.Region, "uscc": u.USCC})
	})
	if err != nil {
		return nil, "", err
	}
	return u, secret, nil
}

// ActorForToken finds who a bearer token belongs to.
func (s *Service) ActorForToken(ctx context.Context, secret string) (Actor, error) {
	if !strings.HasPrefix(secret, "lct_") {
		return Actor{}, ErrUnauthenticated
	}
	var u User
	err := s.db.NewSelect().Model(&u).
		Where("id = (SELECT user_id FROM tokens WHERE token_hash = ? AND revoked_at IS NULL)", hashSecret(secret)).Scan(ctx)
	if errors.Is(dbError(err), ErrNotFound) {
		return Actor{}, ErrUnauthenticated
	}
	if err != nil {
		return Actor{}, err
	}
	a := Actor{Name: u.Name, Role: u.Role, Region: u.Region}
	if u.USCC != nil {
		a.USCC = *u.USCC
	}
	return a, nil
}

// ErrUnauthenticated: no credentials, or unknown or revoked ones.
var ErrUnauthenticated = errors.New("unauthenticated")

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
