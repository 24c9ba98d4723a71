package account

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// authResponse is what the browser brought back to the loopback redirect.
type authResponse struct {
	code string
	iss  string
	err  error
}

// loopback receives the authorization response of a native app on a
// loopback redirect (RFC 8252 §7.3): a one-shot HTTP server on 127.0.0.1
// (and [::1] on the same port, where free, since the browser may resolve
// localhost to either) on a port the system chose.
type loopback struct {
	srv         *http.Server
	redirectURI string
	result      chan authResponse
	answered    atomic.Bool // the first response with the right state is the only one taken
}

// startLoopback listens and serves until close. Only a response carrying
// state is taken: any other request (a favicon, a stale tab, another
// page's forged redirect) is answered and ignored, so it can neither end
// nor hijack the sign-in (RFC 6749 §10.12).
func startLoopback(state string, checkIss func(iss string) error) (*loopback, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen on a loopback port for the sign-in response: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	lb := &loopback{
		// az's redirect URI: Entra matches http://localhost on any port.
		redirectURI: "http://localhost:" + strconv.Itoa(port),
		result:      make(chan authResponse, 1),
	}
	lb.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lb.serve(w, r, state, checkIss)
	}), ReadHeaderTimeout: 10 * time.Second}
	go lb.srv.Serve(ln)
	if ln6, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(port))); err == nil {
		go lb.srv.Serve(ln6)
	}
	return lb, nil
}

func (lb *loopback) serve(w http.ResponseWriter, r *http.Request, state string, checkIss func(string) error) {
	if r.Method != http.MethodGet || r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		page(w, http.StatusBadRequest, "This sign-in response is not for the running tessera login",
			"Go back to the terminal: the sign-in there is still waiting.")
		return
	}
	// RFC 9207 §2.4: the issuer is checked first, on errors too, so that a
	// response from another authority (a mix-up attack) is never used.
	res := authResponse{iss: q.Get("iss")}
	if checkIss != nil {
		res.err = checkIss(res.iss)
	}
	if res.err == nil {
		switch {
		case q.Get("error") != "":
			res.err = &ServerError{StatusCode: http.StatusBadRequest, Code: q.Get("error"), Description: q.Get("error_description")}
		case q.Get("code") == "":
			res.err = errors.New("the sign-in response carries neither a code nor an error")
		default:
			res.code = q.Get("code")
		}
	}
	if !lb.answered.CompareAndSwap(false, true) {
		page(w, http.StatusOK, "This sign-in is already complete", "You can close this window.")
		return
	}
	lb.result <- res // buffered: never blocks
	if res.err != nil {
		page(w, http.StatusBadRequest, "The sign-in failed", res.err.Error()+". Go back to the terminal for what to do.")
		return
	}
	page(w, http.StatusOK, "You have signed in", "You have signed in; you can close this window.")
}

// page answers the browser with a small HTML page. Everything shown is
// escaped: an error description comes from the query string.
func page(w http.ResponseWriter, status int, title, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The page's URL holds the code: it must not leak to anything the page
	// could load (it loads nothing, but say so).
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>%s</title></head>`+
		`<body style="font-family:sans-serif;margin:3em"><h1>%s</h1><p>%s</p></body></html>`,
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}

// wait returns the authorization response, or ctx's error.
func (lb *loopback) wait(ctx context.Context) authResponse {
	select {
	case res := <-lb.result:
		return res
	case <-ctx.Done():
		return authResponse{err: fmt.Errorf("the sign-in did not complete: %w", ctx.Err())}
	}
}

// close stops the server once the browser has its page.
func (lb *loopback) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = lb.srv.Shutdown(ctx)
}

// OpenSystemBrowser opens u in the person's browser: $BROWSER if set (a
// list of commands separated by the path list separator, each given the URL
// as its argument, or in place of %s, as Python's webbrowser and
// sensible-browser read it), else the system's opener. It returns once the
// browser is started and does not wait for it to exit. On Linux without a
// display there is no browser to start, and it says so rather than open a
// text browser over the terminal.
func OpenSystemBrowser(_ context.Context, u string) error {
	if b := os.Getenv("BROWSER"); b != "" {
		var errs []error
		for _, entry := range filepath.SplitList(b) {
			args := strings.Fields(entry)
			if len(args) == 0 {
				continue
			}
			substituted := false
			for i, a := range args {
				if strings.Contains(a, "%s") {
					args[i], substituted = strings.ReplaceAll(a, "%s", u), true
				}
			}
			if !substituted {
				args = append(args, u)
			}
			if err := startDetached(args); err != nil {
				errs = append(errs, err)
				continue
			}
			return nil
		}
		return fmt.Errorf("$BROWSER could not be started: %w", errors.Join(errs...))
	}
	switch runtime.GOOS {
	case "darwin":
		return startDetached([]string{"open", u})
	case "windows":
		return startDetached([]string{"rundll32", "url.dll,FileProtocolHandler", u})
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return errors.New("no display to open a browser on")
		}
		return startDetached([]string{"xdg-open", u})
	}
}

// startDetached starts a program and reaps it in the background: some
// browsers run until the person closes them.
func startDetached(args []string) error {
	cmd := exec.Command(args[0], args[1:]...)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
