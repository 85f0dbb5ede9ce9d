package api

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// lruLimiter keeps a token bucket (golang.org/x/time/rate) per key — an
// API client, an address — and at most max of them, so that any number of
// distinct keys costs bounded memory. A key unused for idle is forgotten
// (with idle at least burst ÷ rate its bucket had refilled, so forgetting
// it changes nothing); when max keys are held, the least recently used
// one is forgotten first (it then starts again from a full bucket).
// Safe for concurrent use.
type lruLimiter[K comparable] struct {
	mu   sync.Mutex
	max  int
	idle time.Duration
	m    map[K]*list.Element
	lru  list.List // of *lruEntry[K], most recently used first
}

type lruEntry[K comparable] struct {
	key  K
	lim  *rate.Limiter
	last time.Time
}

// newLRULimiter makes an lruLimiter holding at most n keys (at least
// 1), each forgotten after idle without use.
func newLRULimiter[K comparable](n int, idle time.Duration) *lruLimiter[K] {
	return &lruLimiter[K]{max: max(1, n), idle: idle, m: map[K]*list.Element{}}
}

// take spends one token of key's bucket at now — limit tokens a second,
// at most burst (at least 1) — and returns 0, or takes nothing and
// returns how long until a token would be there. A bucket's limit and
// burst follow the latest call.
func (k *lruLimiter[K]) take(key K, now time.Time, limit rate.Limit, burst int) time.Duration {
	burst = max(1, burst)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.evictIdle(now)
	var e *lruEntry[K]
	if el, ok := k.m[key]; ok {
		e = el.Value.(*lruEntry[K])
		k.lru.MoveToFront(el)
		if e.lim.Limit() != limit {
			e.lim.SetLimitAt(now, limit)
		}
		if e.lim.Burst() != burst {
			e.lim.SetBurstAt(now, burst)
		}
	} else {
		e = &lruEntry[K]{key: key, lim: rate.NewLimiter(limit, burst)}
		k.m[key] = k.lru.PushFront(e)
		for k.lru.Len() > k.max {
			k.remove(k.lru.Back())
		}
	}
	if now.After(e.last) {
		e.last = now
	}
	r := e.lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Duration(1<<63 - 1)
	}
	d := r.DelayFrom(now)
	if d > 0 {
		r.CancelAt(now)
	}
	return d
}

// len is how many keys are held.
func (k *lruLimiter[K]) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lru.Len()
}

func (k *lruLimiter[K]) evictIdle(now time.Time) {
	for el := k.lru.Back(); el != nil && now.Sub(el.Value.(*lruEntry[K]).last) > k.idle; el = k.lru.Back() {
		k.remove(el)
	}
}

func (k *lruLimiter[K]) remove(el *list.Element) {
	delete(k.m, el.Value.(*lruEntry[K]).key)
	k.lru.Remove(el)
}
