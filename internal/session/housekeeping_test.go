package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

// TestDevicePendingCap: StartDevice refuses past the cap with the time
// the first pending code frees a place, and a decided code frees one at
// once.
func TestDevicePendingCap(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	svc := session.NewService(e.store, e.keys, e.keys, session.Options{Now: func() time.Time { return e.now }, DevicePendingMax: 2})
	_, user1, first, err := svc.StartDevice(ctx, e.tenant, e.client, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Minute)
	if _, _, _, err := svc.StartDevice(ctx, e.tenant, e.client, nil, ""); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = svc.StartDevice(ctx, e.tenant, e.client, nil, "")
	var full *session.PendingLimitError
	if !errors.As(err, &full) || !full.FreeAt.Equal(first.ExpiresAt) {
		t.Fatalf("third device authorization with a cap of 2: %v, want a PendingLimitError freeing at %v", err, first.ExpiresAt)
	}
	if err := svc.DenyDevice(ctx, e.tenant, user1); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := svc.StartDevice(ctx, e.tenant, e.client, nil, ""); err != nil {
		t.Errorf("after one was denied: %v, want a place", err)
	}
}

// TestHousekeepingPurgesAtExpiry: device codes stay one device-code
// lifetime past their expiry, so a device still polling is told
// expired_token (RFC 8628 §3.5), then go; codes keep their day of margin,
// to be answered "expired".
func TestHousekeepingPurgesAtExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var device, user []string
	for range 3 {
		dc, uc, _, err := e.svc.StartDevice(ctx, e.tenant, e.client, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		device, user = append(device, dc), append(user, uc)
	}
	g := e.grant(t, "")
	code, err := e.svc.IssueCode(ctx, e.tenant, session.Code{GrantID: g.ID, ClientID: e.client, RedirectURI: "http://localhost/cb"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	// Before they expire nothing goes.
	if n, err := e.svc.Housekeeping(ctx, time.Minute); err != nil || n != 0 {
		t.Fatalf("housekeeping before expiry: %d rows, %v", n, err)
	}
	// Just expired: kept, and a late poll is told so.
	e.now = e.now.Add(session.DeviceCodeLifetime + time.Second)
	if n, err := e.svc.Housekeeping(ctx, time.Minute); err != nil || n != 0 {
		t.Fatalf("housekeeping just after expiry: %d rows, %v; want none yet", n, err)
	}
	if _, _, err := e.svc.PollDevice(ctx, e.tenant, device[0], e.client); !errors.Is(err, session.ErrExpiredToken) {
		t.Errorf("a poll just after expiry: %v, want ErrExpiredToken", err)
	}
	// A lifetime later: gone.
	e.now = e.now.Add(session.DeviceCodeLifetime)
	if n, err := e.svc.Housekeeping(ctx, time.Minute); err != nil || n != int64(len(device)) {
		t.Fatalf("housekeeping a lifetime after expiry: %d rows, %v; want the %d device codes", n, err, len(device))
	}
	for _, uc := range user {
		if _, err := e.svc.LookupUserCode(ctx, e.tenant, uc); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("an expired device code after housekeeping: %v, want ErrNotFound (purged)", err)
		}
	}
	if _, _, err := e.svc.RedeemCode(ctx, e.tenant, code); !errors.Is(err, session.ErrExpired) {
		t.Errorf("a code half an hour past expiry: %v, want ErrExpired (kept a day, not purged)", err)
	}
}
