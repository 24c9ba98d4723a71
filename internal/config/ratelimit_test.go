package config

import (
	"strings"
	"testing"
	"time"
)

// TestRateLimitSettings: the abuse limits load from flags, environment and
// file like every setting, and bad values are reported together.
func TestRateLimitSettings(t *testing.T) {
	c, err := load(t, []string{"--rate-signin", "2.5", "--trusted-proxies", "10.0.0.0/8,192.0.2.1"},
		map[string]string{"TESSERA_RATE_SIGNIN_BURST": "7", "TESSERA_RATE_TOKEN_CLIENT": "0"})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateSignIn != 2.5 || c.RateSignInBurst != 7 || c.RateTokenClient != 0 || c.TrustedProxies != "10.0.0.0/8,192.0.2.1" {
		t.Errorf("rates not applied: %+v", c)
	}
	d := Default()
	if d.RateSignIn <= 0 || d.RateTokenClient < 10000 || d.RateTokenAddress != 0 || !strings.Contains(d.RateExempt, "127.0.0.0/8") {
		t.Errorf("defaults changed: %+v; the README's Abuse limits table and the load tool's headroom depend on them", d)
	}
	_, err = load(t, []string{"--rate-signin", "-1", "--rate-token-client-burst", "0", "--trusted-proxies", "10.0.0.0/33", "--rate-exempt", "nope"}, nil)
	for _, want := range []string{"--rate-signin", "--rate-token-client-burst", "--trusted-proxies", "--rate-exempt"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want a problem with %s, got %v", want, err)
		}
	}
	if _, err := load(t, nil, map[string]string{"TESSERA_RATE_SIGNIN": "fast"}); err == nil {
		t.Error("a rate that is not a number was accepted")
	}
}

// TestHSTSSetting: --hsts only where tessera cannot see TLS itself.
func TestHSTSSetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"--hsts", "--http", "--public-url", "https://id.example.com"}, true},
		{[]string{"--hsts"}, false},
		{[]string{"--hsts", "--http", "--public-url", "http://id.example.com"}, false},
	} {
		if _, err := load(t, tc.args, nil); (err == nil) != tc.ok {
			t.Errorf("%v: %v, want ok %v", tc.args, err, tc.ok)
		}
	}
}

// TestAddressBanSettings: the address ban flags load like every setting,
// default to on, and bad values are reported together.
func TestAddressBanSettings(t *testing.T) {
	c, err := load(t, []string{"--ban-address-failures", "7"}, map[string]string{"TESSERA_BAN_ADDRESS_WINDOW": "2m", "TESSERA_BAN_ADDRESS_DURATION": "30m"})
	if err != nil {
		t.Fatal(err)
	}
	if c.BanAddressFailures != 7 || c.BanAddressWindow != 2*time.Minute || c.BanAddressDuration != 30*time.Minute {
		t.Errorf("ban settings not applied: %+v", c)
	}
	if d := Default(); d.BanAddressFailures != 50 || d.BanAddressWindow != 15*time.Minute || d.BanAddressDuration != time.Hour {
		t.Errorf("defaults changed: %+v; the README's Abuse limits table gives them", d)
	}
	_, err = load(t, []string{"--ban-address-failures", "-1"}, nil)
	if err == nil || !strings.Contains(err.Error(), "--ban-address-failures") {
		t.Errorf("negative threshold: %v", err)
	}
	_, err = load(t, []string{"--ban-address-window", "0s", "--ban-address-duration", "-1h"}, nil)
	for _, want := range []string{"--ban-address-window", "--ban-address-duration"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want a problem with %s, got %v", want, err)
		}
	}
	if _, err := load(t, []string{"--ban-address-failures", "0", "--ban-address-window", "0s"}, nil); err != nil {
		t.Errorf("bans off need no window: %v", err)
	}
}

// TestDeviceAuthorizationSettings: the per-address device authorization
// limit and the cap on pending codes load like every setting and are on by
// default (review M3); the cap cannot be switched off.
func TestDeviceAuthorizationSettings(t *testing.T) {
	c, err := load(t, []string{"--rate-device-address", "0.5"}, map[string]string{"TESSERA_RATE_DEVICE_ADDRESS_BURST": "3", "TESSERA_DEVICE_PENDING_MAX": "200"})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateDeviceAddress != 0.5 || c.RateDeviceAddrBurst != 3 || c.DevicePendingMax != 200 {
		t.Errorf("device settings not applied: %+v", c)
	}
	if d := Default(); d.RateDeviceAddress != 0.01 || d.RateDeviceAddrBurst != 10 || d.DevicePendingMax != 10000 {
		t.Errorf("defaults changed: %+v; the README's Abuse limits table gives them", d)
	}
	_, err = load(t, []string{"--rate-device-address", "-1", "--device-pending-max", "0"}, nil)
	for _, want := range []string{"--rate-device-address", "--device-pending-max"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want a problem with %s, got %v", want, err)
		}
	}
	if _, err := load(t, []string{"--rate-device-address", "0"}, nil); err != nil {
		t.Errorf("the per-address limit may be off (the cap still bounds the rows): %v", err)
	}
}
