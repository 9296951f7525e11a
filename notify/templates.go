package notify

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"
)

// builtin holds the default templates, one file per part and kind, with
// the same names an override uses.
//
//go:embed templates/*.txt templates/*.html
var builtin embed.FS

// MaxTemplateSize is the largest template file, in bytes, that an
// override may hold.
const MaxTemplateSize = 64 << 10

// emailKinds and smsKinds list the kinds by the transport they go
// through, in a stable order.
var (
	emailKinds = []Kind{KindInvitation, KindPasswordReset, KindSystemError, KindExpiryWarning, KindTestEmail}
	smsKinds   = []Kind{KindTwoFactorCode, KindTestSMS}
)

// Template file names. An email kind has three parts, an SMS kind one.
const (
	subjectSuffix = ".subject.txt"
	textSuffix    = ".txt"
	htmlSuffix    = ".html"
)

// TemplateNames returns the file names a template override may hold, one
// per part and kind, sorted: "<kind>.subject.txt", "<kind>.txt" and
// "<kind>.html" for each email kind (the subject line, the plain-text
// body and the HTML body), and "<kind>.txt" for each SMS kind (the
// message body).
func TemplateNames() []string {
	var names []string
	for _, k := range emailKinds {
		names = append(names, string(k)+subjectSuffix, string(k)+textSuffix, string(k)+htmlSuffix)
	}
	for _, k := range smsKinds {
		names = append(names, string(k)+textSuffix)
	}
	sort.Strings(names)
	return names
}

type emailTemplates struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

// templates is the parsed, checked set a Notifier renders with.
type templates struct {
	email map[Kind]emailTemplates
	sms   map[Kind]*texttemplate.Template
}

// parseTemplates reads the built-in templates, replaces those that
// overrides holds (it may be nil), parses every one and executes it once
// on sample data, so that a broken template fails here and not when a
// user waits for their password reset.
func parseTemplates(overrides fs.FS, site string) (*templates, error) {
	src, err := templateSources(overrides)
	if err != nil {
		return nil, err
	}
	funcs := templateFuncs(site)
	t := &templates{email: map[Kind]emailTemplates{}, sms: map[Kind]*texttemplate.Template{}}
	var errs []error
	for _, k := range emailKinds {
		var et emailTemplates
		var e1, e2, e3 error
		et.subject, e1 = parseText(src, string(k)+subjectSuffix, funcs)
		et.text, e2 = parseText(src, string(k)+textSuffix, funcs)
		et.html, e3 = parseHTML(src, string(k)+htmlSuffix, funcs)
		errs = append(errs, e1, e2, e3)
		t.email[k] = et
	}
	for _, k := range smsKinds {
		var err error
		t.sms[k], err = parseText(src, string(k)+textSuffix, funcs)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return t, nil
}

// source is the text of one template file and where it came from.
type source struct {
	text     string
	override bool
}

func templateSources(overrides fs.FS) (map[string]source, error) {
	src := map[string]source{}
	for _, name := range TemplateNames() {
		b, err := builtin.ReadFile("templates/" + name)
		if err != nil {
			return nil, fmt.Errorf("notify: built-in template %s is missing from the build: %w", name, err)
		}
		src[name] = source{text: string(b)}
	}
	if overrides == nil {
		return src, nil
	}
	entries, err := fs.ReadDir(overrides, ".")
	if err != nil {
		return nil, fmt.Errorf("notify: template overrides: cannot list the directory: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || (path.Ext(name) != ".txt" && path.Ext(name) != ".html") {
			continue
		}
		if _, known := src[name]; !known {
			errs = append(errs, fmt.Errorf("notify: template override %q is not a template name: use one of %s", name, strings.Join(TemplateNames(), ", ")))
			continue
		}
		text, err := readTemplate(overrides, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		src[name] = source{text: text, override: true}
	}
	return src, errors.Join(errs...)
}

func readTemplate(fsys fs.FS, name string) (string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", fmt.Errorf("notify: template override %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxTemplateSize+1))
	if err != nil {
		return "", fmt.Errorf("notify: template override %s: %w", name, err)
	}
	if len(b) > MaxTemplateSize {
		return "", fmt.Errorf("notify: template override %s is larger than %d bytes: shorten it", name, MaxTemplateSize)
	}
	return string(b), nil
}

func describe(name string, s source) string {
	if s.override {
		return "template override " + name
	}
	return "built-in template " + name
}

func parseText(src map[string]source, name string, funcs map[string]any) (*texttemplate.Template, error) {
	s := src[name]
	t, err := texttemplate.New(name).Funcs(funcs).Option("missingkey=error").Parse(s.text)
	if err == nil {
		err = checkActions(t.Root)
	}
	if err != nil {
		return nil, fmt.Errorf("notify: %s does not parse: %w", describe(name, s), err)
	}
	return t, nil
}

func parseHTML(src map[string]source, name string, funcs map[string]any) (*htmltemplate.Template, error) {
	s := src[name]
	t, err := htmltemplate.New(name).Funcs(funcs).Option("missingkey=error").Parse(s.text)
	if err == nil {
		err = checkActions(t.Tree.Root)
	}
	if err != nil {
		return nil, fmt.Errorf("notify: %s does not parse: %w", describe(name, s), err)
	}
	return t, nil
}

// checkActions refuses {{range}} and {{template}} (and so {{block}}).
// No notification data holds a list, and a file cannot call another
// file's templates, so neither is needed; both would let a template run
// for as long as it likes without writing a byte (range over an
// integer such as a Duration, or templates that call each other), which
// no output limit can stop.
func checkActions(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkActions(c); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return errors.Join(checkActions(n.List), checkActions(n.ElseList))
	case *parse.WithNode:
		return errors.Join(checkActions(n.List), checkActions(n.ElseList))
	case *parse.RangeNode:
		return fmt.Errorf("line %d: {{range}} is not allowed: notification data holds no lists", n.Line)
	case *parse.TemplateNode:
		return fmt.Errorf("line %d: {{template}} and {{block}} are not allowed: write the text in place", n.Line)
	}
	return nil
}

// check renders every kind with full and with minimal sample data. A
// template that names a field the kind does not have, or that
// html/template cannot escape, fails here.
func (t *templates) check() error {
	var errs []error
	failed := map[Kind]bool{}
	for _, d := range sampleData() {
		if failed[d.Kind()] {
			continue // one error per kind is enough
		}
		var err error
		if _, ok := t.sms[d.Kind()]; ok {
			_, err = t.renderSMS(d)
		} else {
			_, _, _, err = t.renderEmail(d)
		}
		if err != nil {
			failed[d.Kind()] = true
			errs = append(errs, fmt.Errorf("notify: templates of kind %s fail on sample data: %w", d.Kind(), err))
		}
	}
	return errors.Join(errs...)
}

// sampleData returns, for every kind, a value with every field set and
// one with only the required fields.
func sampleData() []Data {
	at := time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)
	return []Data{
		Invitation{Inviter: "Alice", Organization: "Acme", Team: "Ops", AcceptURL: "https://example.com/accept", ExpiresAt: at},
		Invitation{Organization: "Acme", AcceptURL: "https://example.com/accept"},
		PasswordReset{User: "bob", ResetURL: "https://example.com/reset", ExpiresAt: at, RequestedFrom: "192.0.2.1"},
		PasswordReset{ResetURL: "https://example.com/reset"},
		SystemError{Component: "SAML", Summary: "certificate expired", Details: "line 1\nline 2", OccurredAt: at, URL: "https://example.com/admin"},
		SystemError{Component: "SAML", Summary: "certificate expired"},
		ExpiryWarning{Component: "SAML", Item: "the IdP certificate", ExpiresAt: at, DaysLeft: 7, Action: "Rotate it.", URL: "https://example.com/admin"},
		ExpiryWarning{Component: "SAML", Item: "the IdP certificate", ExpiresAt: at, DaysLeft: -1, Action: "Rotate it."},
		TwoFactorCode{Code: "123456", ExpiresIn: 10 * time.Minute},
		TwoFactorCode{Code: "123456"},
		TestEmail{RequestedBy: "Alice"},
		TestEmail{},
		TestSMS{RequestedBy: "Alice"},
		TestSMS{},
	}
}

// templateFuncs are the functions every template may call:
//
//	oneline   folds control characters (CR, LF, tab...) into single spaces
//	site      the Notifier's Config.SiteName
//	datetime  a time as "2006-01-02 15:04 UTC"
//	duration  a duration in words, such as "10 minutes"
func templateFuncs(site string) map[string]any {
	return map[string]any{
		"oneline":  foldLine,
		"site":     func() string { return site },
		"datetime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"duration": humanDuration,
	}
}

func humanDuration(d time.Duration) string {
	unit := func(n int64, word string) string {
		if n == 1 {
			return "1 " + word
		}
		return fmt.Sprintf("%d %ss", n, word)
	}
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return unit(int64(d/time.Minute), "minute")
	case d >= time.Minute:
		return unit(int64((d+time.Minute-1)/time.Minute), "minute")
	default:
		return unit(int64((d+time.Second-1)/time.Second), "second")
	}
}
