package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A tiny client of the Chrome DevTools Protocol over wsConn: commands with
// their answers, nothing else (pages are watched by polling
// Runtime.evaluate, which survives navigations that events would have to
// be tracked across).

// cdp is one DevTools connection to the browser. Tabs talk through it
// with their session IDs (Target.attachToTarget with flatten).
type cdp struct {
	ws *wsConn

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan cdpAnswer
	err     error // why the connection ended
}

type cdpAnswer struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	} `json:"error"`
}

func newCDP(ws *wsConn) *cdp {
	c := &cdp{ws: ws, pending: map[int64]chan cdpAnswer{}}
	go c.readLoop()
	return c
}

// readLoop hands each answer to its caller; events are dropped.
func (c *cdp) readLoop() {
	for {
		msg, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.err = err
			for id, ch := range c.pending {
				close(ch)
				delete(c.pending, id)
			}
			c.mu.Unlock()
			return
		}
		var m struct {
			ID int64 `json:"id"`
			cdpAnswer
		}
		if json.Unmarshal(msg, &m) != nil || m.ID == 0 {
			continue // an event
		}
		c.mu.Lock()
		ch := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m.cdpAnswer
		}
	}
}

// call sends method with params to the session (the browser when "")
// and decodes the answer into result, when not nil.
func (c *cdp) call(ctx context.Context, session, method string, params, result any) error {
	ch := make(chan cdpAnswer, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return fmt.Errorf("devtools connection closed: %w", c.err)
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	req := map[string]any{"id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	if session != "" {
		req["sessionId"] = session
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if err := c.ws.WriteText(b); err != nil {
		return err
	}
	select {
	case a, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: devtools connection closed", method)
		}
		if a.Error != nil {
			return fmt.Errorf("%s: %s %s", method, a.Error.Message, a.Error.Data)
		}
		if result != nil {
			return json.Unmarshal(a.Result, result)
		}
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// chromium is a headless Chromium started for one test.
type chromium struct {
	cdp    *cdp
	stderr *lockedBuffer
}

// findChromium returns Debian's chromium (or a chromium-browser), or skips
// the test, failing it instead in CI, where .ci/run installs the package.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found: install Debian's chromium package (apt-get install chromium) to run the browser test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; with CI=true this is a failure, not a skip")
	}
	t.Skip(msg)
	return ""
}

// startChromium starts a headless Chromium with a fresh profile, reads
// its DevTools URL from stderr and connects. The browser reaches only
// the loopback pages the test opens: its own background traffic is off.
func startChromium(t *testing.T) *chromium {
	t.Helper()
	bin := findChromium(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--remote-debugging-port=0", "--user-data-dir="+t.TempDir(), "about:blank")
	// Its own process group, so that its renderers and helpers end with
	// it, before t.TempDir removes the profile they write to.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	waited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(waited)
	}()
	t.Cleanup(func() {
		cancel()
		<-waited
	})

	log := &lockedBuffer{}
	found := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stderr)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		for s.Scan() {
			line := s.Text()
			log.WriteString(line + "\n")
			if u, ok := strings.CutPrefix(line, "DevTools listening on "); ok {
				select {
				case found <- strings.TrimSpace(u):
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	var wsURL string
	select {
	case wsURL = <-found:
	case <-waited:
		t.Fatalf("chromium exited before it listened:\n%s", log.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("chromium printed no DevTools URL within 60s:\n%s", log.String())
	}
	dial, cancelDial := context.WithTimeout(ctx, 10*time.Second)
	defer cancelDial()
	ws, err := dialWebSocket(dial, wsURL)
	require.NoError(t, err)
	t.Cleanup(func() { ws.Close() })
	return &chromium{cdp: newCDP(ws), stderr: log}
}

// tab is one page in a browser context of its own: its own cookies, as a
// separate browser would have.
type tab struct {
	t       *testing.T
	c       *cdp
	session string
	base    string
}

// newTab opens about:blank in a new browser context, for test t.
func (b *chromium) newTab(t *testing.T, base string) *tab {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var bc struct{ BrowserContextID string }
	require.NoError(t, b.cdp.call(ctx, "", "Target.createBrowserContext", map[string]any{"disposeOnDetach": true}, &bc))
	var target struct{ TargetID string }
	require.NoError(t, b.cdp.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank", "browserContextId": bc.BrowserContextID}, &target))
	var att struct{ SessionID string }
	require.NoError(t, b.cdp.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att))
	tb := &tab{t: t, c: b.cdp, session: att.SessionID, base: base}
	tb.do("Page.enable", nil, nil)
	// Keys go to the focused page; tabs opened earlier would keep it.
	tb.do("Page.bringToFront", nil, nil)
	tb.do("Emulation.setFocusEmulationEnabled", map[string]any{"enabled": true}, nil)
	return tb
}

// do runs a command in the tab, failing the test on an error.
func (tb *tab) do(method string, params, result any) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(tb.t, tb.c.call(ctx, tb.session, method, params, result))
}

// eval evaluates a JavaScript expression in the page and returns its
// value as JSON.
func (tb *tab) eval(expr string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := tb.c.call(ctx, tb.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r)
	if err != nil {
		return nil, err
	}
	if e := r.ExceptionDetails; e != nil {
		return nil, fmt.Errorf("%s: %s %s", expr, e.Text, e.Exception.Description)
	}
	return r.Result.Value, nil
}

// waitFor polls the expression until it is true, and fails the test with
// what the page shows when it is not within 20 seconds. Evaluation errors
// (a navigation replaced the page) count as not yet.
func (tb *tab) waitFor(what, expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		v, err := tb.eval("!!(" + expr + ")")
		if err == nil && string(v) == "true" {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	tb.t.Fatalf("waiting for %s: not within 20s (last error: %v)\n%s", what, last, tb.describe())
}

// describe is the page's URL and visible text, for a failure message.
func (tb *tab) describe() string {
	v, err := tb.eval(`location.href + "\n" + (document.body ? document.body.innerText : "")`)
	if err != nil {
		return "(the page cannot be read: " + err.Error() + ")"
	}
	var s string
	json.Unmarshal(v, &s)
	if len(s) > 4000 {
		s = s[:4000] + "…"
	}
	return "page: " + s
}

// open navigates to a path of the app and waits until it has loaded.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.navigate(path)
	tb.loaded(strings.SplitN(path, "?", 2)[0])
}

// navigate starts loading a path of the app.
func (tb *tab) navigate(path string) {
	tb.t.Helper()
	tb.do("Page.navigate", map[string]any{"url": tb.base + path}, nil)
}

// loaded waits until the page at path (with any query) has loaded.
func (tb *tab) loaded(path string) {
	tb.t.Helper()
	tb.waitFor("the page "+path, fmt.Sprintf(`document.readyState === "complete" && location.href.split("?")[0] === %q`, tb.base+path))
}

// text returns the visible text of the first element matching selector.
func (tb *tab) text(selector string) string {
	tb.t.Helper()
	tb.waitFor(selector, fmt.Sprintf("document.querySelector(%q)", selector))
	v, err := tb.eval(fmt.Sprintf("document.querySelector(%q).innerText", selector))
	require.NoError(tb.t, err)
	var s string
	require.NoError(tb.t, json.Unmarshal(v, &s))
	return s
}

// has reports whether an element matches selector now.
func (tb *tab) has(selector string) bool {
	tb.t.Helper()
	v, err := tb.eval(fmt.Sprintf("!!document.querySelector(%q)", selector))
	require.NoError(tb.t, err)
	return string(v) == "true"
}

// click clicks the middle of the element with the mouse, as a person
// would.
func (tb *tab) click(selector string) {
	tb.t.Helper()
	tb.waitFor(selector, fmt.Sprintf("document.querySelector(%q)", selector))
	v, err := tb.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.scrollIntoView({block: "center"});
		const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`, selector))
	require.NoError(tb.t, err)
	var xy [2]float64
	require.NoError(tb.t, json.Unmarshal(v, &xy))
	for _, typ := range []string{"mousePressed", "mouseReleased"} {
		tb.do("Input.dispatchMouseEvent", map[string]any{"type": typ, "x": xy[0], "y": xy[1], "button": "left", "clickCount": 1}, nil)
	}
}

// typeInto focuses the element, empties it and types text as keyboard
// input.
func (tb *tab) typeInto(selector, text string) {
	tb.t.Helper()
	tb.waitFor(selector, fmt.Sprintf("document.querySelector(%q)", selector))
	_, err := tb.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.focus(); e.value = ""; })()`, selector))
	require.NoError(tb.t, err)
	tb.do("Input.insertText", map[string]any{"text": text}, nil)
}

// pressEnter presses and releases Enter in the focused element.
func (tb *tab) pressEnter() {
	tb.t.Helper()
	tb.do("Input.dispatchKeyEvent", map[string]any{"type": "keyDown", "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"}, nil)
	tb.do("Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}, nil)
}

// choose picks the option with value in a select.
func (tb *tab) choose(selector, value string) {
	tb.t.Helper()
	_, err := tb.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q;
		if (e.value !== %q) throw new Error("no option " + %q); })()`, selector, value, value, value))
	require.NoError(tb.t, err)
}

// lockedBuffer collects Chromium's stderr for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.WriteString(s)
	}
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// log returns what Chromium printed, without its complaints about the
// missing D-Bus, which a headless machine never has.
func (b *chromium) log() string {
	var out []string
	for _, line := range strings.Split(b.stderr.String(), "\n") {
		if !strings.Contains(line, "/dbus/") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
