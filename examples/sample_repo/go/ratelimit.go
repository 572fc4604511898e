// Package ratelimit throttles how often each client may call the publishing API.
package ratelimit

import (
	"net/http"
	"sync"
	"time"
)

// Bucket is a token bucket: it refills at a steady rate up to a ceiling, and every
// request spends one token.
type Bucket struct {
	capacity   float64
	tokens     float64
	refillRate float64 // tokens per second
	last       time.Time
}

// Limiter keeps one bucket per client key (usually the remote address).
type Limiter struct {
	mu       sync.Mutex
	buckets  map[string]*Bucket
	capacity float64
	rate     float64
	now      func() time.Time
}

// NewLimiter builds a limiter allowing bursts of `burst` requests and a sustained
// `perSecond` requests per second for each client.
func NewLimiter(burst int, perSecond float64) *Limiter {
	return &Limiter{
		buckets:  make(map[string]*Bucket),
		capacity: float64(burst),
		rate:     perSecond,
		now:      time.Now,
	}
}

// refill tops the bucket up for the time that passed since it was last touched.
func (b *Bucket) refill(now time.Time) {
	elapsed := now.Sub(b.last).Seconds()
	if elapsed > 0 {
		b.tokens += elapsed * b.refillRate
		if b.tokens > b.capacity {
			b.tokens = b.capacity
		}
		b.last = now
	}
}

// take spends one token if available and reports whether it could.
func (b *Bucket) take(now time.Time) bool {
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// Allow decides whether the client identified by key may proceed right now.
// A client seen for the first time starts with a full bucket.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	bucket, ok := l.buckets[key]
	if !ok {
		bucket = &Bucket{capacity: l.capacity, tokens: l.capacity, refillRate: l.rate, last: now}
		l.buckets[key] = bucket
	}
	return bucket.take(now)
}

// Forget discards buckets that have been idle longer than maxIdle, so memory does
// not grow without bound when many distinct clients pass through.
func (l *Limiter) Forget(maxIdle time.Duration) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	cutoff := l.now().Add(-maxIdle)
	removed := 0
	for key, bucket := range l.buckets {
		if bucket.last.Before(cutoff) {
			delete(l.buckets, key)
			removed++
		}
	}
	return removed
}

// Middleware rejects requests with 429 Too Many Requests once a client has used up
// its allowance, and passes everything else on to next.
func (l *Limiter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.Allow(r.RemoteAddr) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}
