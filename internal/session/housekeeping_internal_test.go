package session

import (
	"context"
	"testing"
	"time"
)

// backlogRepo is a Repository holding a backlog of expired rows, for the
// housekeeping loop; only ForgetSealed and Purge are called.
type backlogRepo struct {
	Repository
	left   int64
	cuts   []PurgeBefore
	limits []int
}

func (r *backlogRepo) ForgetSealed(context.Context, time.Time) error { return nil }

func (r *backlogRepo) Purge(_ context.Context, before PurgeBefore, limit int) (int64, error) {
	n := min(r.left, int64(limit))
	r.left -= n
	r.cuts, r.limits = append(r.cuts, before), append(r.limits, limit)
	return n, nil
}

// TestHousekeepingPurgesTheBacklog: one housekeeping run purges a backlog
// of any size in batches of purgeBatch, all with the cut-offs of its
// start: device codes and the like a device code's lifetime late, codes
// and refresh tokens a day late.
func TestHousekeepingPurgesTheBacklog(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	repo := &backlogRepo{left: 2*purgeBatch + 500}
	svc := NewService(repo, nil, nil, Options{Now: func() time.Time { return now }})
	n, err := svc.Housekeeping(context.Background(), time.Minute)
	if err != nil || n != 2*purgeBatch+500 || repo.left != 0 {
		t.Fatalf("purged %d rows (%v), %d left; want the whole backlog", n, err, repo.left)
	}
	if len(repo.cuts) != 3 {
		t.Fatalf("%d batches, want 3: two full ones and the rest", len(repo.cuts))
	}
	for i, cut := range repo.cuts {
		if !cut.Expired.Equal(now.Add(-DeviceCodeLifetime)) || !cut.Answered.Equal(now.Add(-24*time.Hour)) || repo.limits[i] != purgeBatch {
			t.Errorf("batch %d: cut-offs %+v, limit %d; want expired a device code's lifetime ago, answered a day ago, %d rows", i, cut, repo.limits[i], purgeBatch)
		}
	}
}
