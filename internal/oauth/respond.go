package oauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// writeCacheable writes public metadata that clients may cache.
func writeCacheable(w http.ResponseWriter, v any, maxAge int) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(maxAge))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
