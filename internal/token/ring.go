package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keySet is an immutable snapshot of the ring: readers load it through an
// atomic pointer, so signing and verifying never take a lock.
type keySet struct {
	active *signingKey
	signer *compactSigner
	byKid  map[string]*signingKey
	all    []*signingKey // newest first
	jwks   []byte        // the JWKS document, marshalled once per snapshot
}

// Ring holds the signing keys: the active one signs, every one is published.
// Its state lives in the store; Reload picks up a rotation made by another
// process (the admin CLI on the same data folder, another instance).
type Ring struct {
	repo   KeyRepository
	sealer Sealer
	alg    string
	now    func() time.Time
	// retireAfter is how long a retired key stays published: the longest
	// access-token lifetime plus clock skew, so every token it signed
	// expires before resource servers forget the key.
	retireAfter time.Duration
	log         *slog.Logger

	set      atomic.Pointer[keySet]
	reloadMu sync.Mutex // serializes reloads and rotations of this process
}

// RingOptions configure a Ring.
type RingOptions struct {
	Alg         string // RS256 (default) or ES256: for keys created from now on
	RetireAfter time.Duration
	Now         func() time.Time
	Logger      *slog.Logger
}

// NewRing opens the key ring, creating the first active and next keys if the
// store has none.
func NewRing(ctx context.Context, repo KeyRepository, sealer Sealer, opts RingOptions) (*Ring, error) {
	r := &Ring{repo: repo, sealer: sealer, alg: opts.Alg, now: opts.Now, retireAfter: opts.RetireAfter, log: opts.Logger}
	if r.alg == "" {
		r.alg = RS256
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.retireAfter == 0 {
		r.retireAfter = 24*time.Hour + 10*time.Minute
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	keys, err := repo.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		now := r.now().UTC().Truncate(time.Microsecond)
		active, err := newKeyRecord(r.alg, sealer, now)
		if err != nil {
			return nil, err
		}
		active.State, active.ActivatedAt = KeyActive, now
		next, err := newKeyRecord(r.alg, sealer, now)
		if err != nil {
			return nil, err
		}
		created, err := repo.InitSigningKeys(ctx, []KeyRecord{active, next})
		if err != nil {
			return nil, err
		}
		if created {
			r.log.Info("created signing keys", "active", active.ID, "next", next.ID, "alg", r.alg)
		}
	}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload reads the keys from the store and swaps in a new snapshot.
func (r *Ring) Reload(ctx context.Context) error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	return r.reloadLocked(ctx)
}

func (r *Ring) reloadLocked(ctx context.Context) error {
	records, err := r.repo.ListSigningKeys(ctx)
	if err != nil {
		return err
	}
	old := r.set.Load()
	set := &keySet{byKid: make(map[string]*signingKey, len(records))}
	now := r.now()
	for _, rec := range records {
		if rec.State == KeyRetired && !rec.PublishUntil.IsZero() && now.After(rec.PublishUntil) {
			continue
		}
		var k *signingKey
		if old != nil {
			// Reuse the opened key: unsealing and parsing is not free.
			if prev, ok := old.byKid[rec.ID]; ok && prev.record.State == rec.State && (prev.private != nil || rec.State == KeyRetired) {
				k = &signingKey{record: rec, private: prev.private, public: prev.public, x5t: prev.x5t}
			}
		}
		if k == nil {
			if k, err = openKeyRecord(rec, r.sealer); err != nil {
				return err
			}
		}
		set.byKid[rec.ID] = k
		set.all = append(set.all, k)
		if rec.State == KeyActive {
			if set.active != nil {
				return errors.New("token: store holds two active signing keys")
			}
			set.active = k
		}
	}
	if set.active == nil {
		return errors.New("token: store holds no active signing key")
	}
	sort.SliceStable(set.all, func(i, j int) bool { return set.all[i].record.CreatedAt.After(set.all[j].record.CreatedAt) })
	if set.signer, err = newCompactSigner(set.active); err != nil {
		return fmt.Errorf("token: signer: %w", err)
	}
	jwks := jose.JSONWebKeySet{}
	for _, k := range set.all {
		jwks.Keys = append(jwks.Keys, k.public)
	}
	if set.jwks, err = json.Marshal(jwks); err != nil {
		return err
	}
	if old == nil || old.active.record.ID != set.active.record.ID {
		r.log.Info("signing with key", "kid", set.active.record.ID, "alg", set.active.record.Alg)
	}
	r.set.Store(set)
	return nil
}

// Watch reloads the ring every interval until ctx ends, so a rotation made
// elsewhere is served here within one interval.
func (r *Ring) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Reload(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("reloading signing keys", "err", err)
			}
		}
	}
}

// JWKS returns the JSON Web Key Set document (RFC 7517 §5) of every
// published key.
func (r *Ring) JWKS() []byte { return r.set.Load().jwks }

// ActiveKeyID returns the kid tokens are signed with now.
func (r *Ring) ActiveKeyID() string { return r.set.Load().active.record.ID }

// ListKeys implements KeyAdmin.
func (r *Ring) ListKeys(ctx context.Context) ([]KeyInfo, error) {
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	set := r.set.Load()
	out := make([]KeyInfo, 0, len(set.all))
	for _, k := range set.all {
		out = append(out, k.info())
	}
	return out, nil
}

// RotateKeys implements KeyAdmin: the next key (published since the last
// rotation) starts signing, the active key retires but stays published
// until every token it signed has expired, and a new next key is published.
func (r *Ring) RotateKeys(ctx context.Context) ([]KeyInfo, error) {
	r.reloadMu.Lock()
	if err := r.reloadLocked(ctx); err != nil {
		r.reloadMu.Unlock()
		return nil, err
	}
	now := r.now().UTC().Truncate(time.Microsecond)
	next, err := newKeyRecord(r.alg, r.sealer, now)
	if err != nil {
		r.reloadMu.Unlock()
		return nil, err
	}
	activeID := r.set.Load().active.record.ID
	err = r.repo.RotateSigningKeys(ctx, activeID, now.Add(r.retireAfter), next, now)
	if err == nil {
		err = r.reloadLocked(ctx)
	}
	r.reloadMu.Unlock()
	if err != nil {
		return nil, err
	}
	r.log.Info("rotated signing keys", "retired", activeID, "active", r.ActiveKeyID(), "next", next.ID)
	return r.ListKeys(ctx)
}
