package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// Limit allows at most Max sends in each Window. Windows are fixed and
// aligned to multiples of Window since the zero time (hour windows start
// on the hour, UTC), so a burst across a boundary can reach 2·Max within
// one Window's time; the limit is about cost, and that bound is known.
type Limit struct {
	// Max is the most sends in one window. 0 means the default; a
	// negative Max means no limit.
	Max int
	// Window is the window's length. Default: one hour.
	Window time.Duration
}

// DefaultPerNumber is the limit per number: a person signing in needs
// one code, and a resend or two when it is slow; 5 an hour covers that,
// and holds a pump on one premium number to 120 messages a day.
func DefaultPerNumber() Limit { return Limit{Max: 5, Window: time.Hour} }

// DefaultPerCountry is the limit per country: SMS pumping spreads over
// many numbers of a few (often expensive) countries, which per-number
// limits cannot see; 100 an hour per country caps that spend at a few
// dollars an hour per country. Raise it for the countries of most of your
// users with LimiterConfig.CountryLimits.
func DefaultPerCountry() Limit { return Limit{Max: 100, Window: time.Hour} }

// DefaultOverall is the limit on all sends together, the last bound on
// the bill whatever the spread: 500 an hour.
func DefaultOverall() Limit { return Limit{Max: 500, Window: time.Hour} }

// Sentinels for errors.Is on a *LimitError.
var (
	// ErrSendLimit: a per-number, per-country or overall limit refused
	// the send.
	ErrSendLimit = errors.New("notify: send limit reached")
	// ErrCountryNotAllowed: the number's country may not receive SMS
	// (LimiterConfig.AllowedCountries, or a non-geographic code), or its
	// calling code is not assigned.
	ErrCountryNotAllowed = errors.New("notify: SMS to this country is not allowed")
)

// LimitScope says which limit refused a send.
type LimitScope string

// The scopes of a LimitError.
const (
	ScopeNumber     LimitScope = "number"      // LimiterConfig.PerNumber
	ScopeCountry    LimitScope = "country"     // PerCountry or CountryLimits
	ScopeOverall    LimitScope = "overall"     // Overall
	ScopeNotAllowed LimitScope = "not-allowed" // AllowedCountries
)

// LimitError is a send the Limiter refused. It is permanent (Temporary
// is false): retrying at once would only be refused again; UserMessage
// says when to come back.
type LimitError struct {
	Scope  LimitScope
	Kind   Kind
	Number string
	// Region is the number's country (see CountryOf), "" when its
	// calling code is unassigned.
	Region string
	// Limit is the limit that refused it; zero for ScopeNotAllowed.
	Limit Limit
	// RetryAfter is how long until the window ends; 0 for
	// ScopeNotAllowed, which a wait does not cure.
	RetryAfter time.Duration
}

// Error says which limit refused the send, for logs and admins.
func (e *LimitError) Error() string {
	switch {
	case e.Scope == ScopeNotAllowed && e.Region == "":
		return fmt.Sprintf("notify: %s to %q refused: its calling code is not assigned", e.Kind, e.Number)
	case e.Scope == ScopeNotAllowed:
		return fmt.Sprintf("notify: %s to %q refused: SMS to region %q is not allowed (LimiterConfig.AllowedCountries)", e.Kind, e.Number, e.Region)
	}
	return fmt.Sprintf("notify: %s to %q refused: the %s limit of %d per %s is reached (region %q); %s",
		e.Kind, e.Number, e.Scope, e.Limit.Max, e.Limit.Window, e.Region, tryAgain(e.RetryAfter))
}

// UserMessage is a sentence the host can show the person who asked for
// the message, such as "Too many codes to this number; try again in 12
// minutes." It names neither the number nor the limit.
func (e *LimitError) UserMessage() string {
	what := "text messages"
	if e.Kind == KindTwoFactorCode {
		what = "codes"
	}
	switch e.Scope {
	case ScopeNumber:
		return "Too many " + what + " to this number; " + tryAgain(e.RetryAfter) + "."
	case ScopeCountry:
		return "Too many " + what + " to this country right now; " + tryAgain(e.RetryAfter) + "."
	case ScopeOverall:
		return "Too many " + what + " are being sent right now; " + tryAgain(e.RetryAfter) + "."
	}
	return "Text messages to this country are not available; use a number from another country."
}

// tryAgain rounds d up to whole minutes (hours past 90 minutes).
func tryAgain(d time.Duration) string {
	if d > 90*time.Minute {
		h := int((d + time.Hour - 1) / time.Hour)
		return "try again in " + strconv.Itoa(h) + " hours"
	}
	m := max(1, int((d+time.Minute-1)/time.Minute))
	if m == 1 {
		return "try again in 1 minute"
	}
	return "try again in " + strconv.Itoa(m) + " minutes"
}

// Temporary reports false: the send is refused, not failed.
func (e *LimitError) Temporary() bool { return false }

// Is matches ErrCountryNotAllowed for ScopeNotAllowed and ErrSendLimit
// for the others.
func (e *LimitError) Is(target error) bool {
	if e.Scope == ScopeNotAllowed {
		return target == ErrCountryNotAllowed
	}
	return target == ErrSendLimit
}

// LimiterConfig configures a Limiter. Every zero field means its
// default; the defaults suit a host that texts two-factor codes to its
// own users, up to some thousands of sign-ins a day, and cap what SMS
// pumping can cost it (see DefaultPerNumber, DefaultPerCountry,
// DefaultOverall).
type LimiterConfig struct {
	// Counter holds the counts, shared by every instance of the host.
	// Default: a MemoryRateCounter, which is right for one instance only.
	Counter RateCounter
	// PerNumber limits sends to one number. Default: DefaultPerNumber.
	PerNumber Limit
	// PerCountry limits sends to one country (a Region of CountryOf).
	// Default: DefaultPerCountry.
	PerCountry Limit
	// CountryLimits replaces PerCountry for the regions it names, such as
	// {"US": {Max: 2000}} for a host whose users are mostly American.
	// Default: none.
	CountryLimits map[string]Limit
	// Overall limits all sends together. Default: DefaultOverall.
	Overall Limit
	// AllowedCountries lists the regions (ISO 3166-1 alpha-2, as
	// CountryOf returns them) that may receive SMS at all, like Twilio's
	// geographic permissions but refused before Twilio is asked. Default:
	// every country; the non-geographic codes (NonGeographic: satellite,
	// international networks, premium rate), favourites of SMS pumping,
	// are allowed only when listed. List your users' countries: it is
	// the strongest defence.
	AllowedCountries []string
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// OnRefused, when set, is called with each refusal, for the host to
	// count or store for its admins. Default: none (Refusals counts).
	OnRefused func(ctx context.Context, e *LimitError)
	// Logger receives one line per refusal. Default: silent.
	Logger *slog.Logger
}

// Limiter refuses SMS sends beyond per-number, per-country and overall
// limits, and to countries that are not allowed: the defence against SMS
// pumping (toll fraud), where bots make a site text codes to premium
// ranges it pays for. The Notifier applies it to every SMS kind when
// Config.Limiter is set. Create one with NewLimiter; it is safe for
// concurrent use.
type Limiter struct {
	counter    RateCounter
	perNumber  Limit
	perCountry Limit
	countries  map[string]Limit
	overall    Limit
	allowed    map[string]bool // nil: every geographic region
	now        func() time.Time
	onRefused  func(context.Context, *LimitError)
	log        *slog.Logger
	refused    [4]atomic.Int64 // by scopeIndex
}

// NewLimiter checks cfg and returns a Limiter.
func NewLimiter(cfg LimiterConfig) (*Limiter, error) {
	var errs []error
	check := func(field string, l Limit) Limit {
		if l.Window < 0 {
			errs = append(errs, &FieldError{Field: "LimiterConfig." + field + ".Window", Problem: "is negative: use 0 for an hour or a positive length"})
		}
		return l
	}
	l := &Limiter{
		counter:    cfg.Counter,
		perNumber:  withLimitDefaults(check("PerNumber", cfg.PerNumber), DefaultPerNumber()),
		perCountry: withLimitDefaults(check("PerCountry", cfg.PerCountry), DefaultPerCountry()),
		overall:    withLimitDefaults(check("Overall", cfg.Overall), DefaultOverall()),
		countries:  map[string]Limit{},
		now:        cfg.Now,
		onRefused:  cfg.OnRefused,
		log:        cfg.Logger,
	}
	for _, region := range slices.Sorted(maps.Keys(cfg.CountryLimits)) {
		if !KnownRegion(region) {
			errs = append(errs, &FieldError{Field: "LimiterConfig.CountryLimits", Problem: fmt.Sprintf("%q is not a region CountryOf knows: use ISO 3166-1 alpha-2 codes such as GB, US", region)})
		}
		l.countries[region] = withLimitDefaults(check("CountryLimits["+region+"]", cfg.CountryLimits[region]), l.perCountry)
	}
	if cfg.AllowedCountries != nil {
		l.allowed = map[string]bool{}
		for _, region := range cfg.AllowedCountries {
			if !KnownRegion(region) {
				errs = append(errs, &FieldError{Field: "LimiterConfig.AllowedCountries", Problem: fmt.Sprintf("%q is not a region CountryOf knows: use ISO 3166-1 alpha-2 codes such as GB (not UK), US", region)})
			}
			l.allowed[region] = true
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if l.counter == nil {
		l.counter = &MemoryRateCounter{}
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l, nil
}

func withLimitDefaults(l, def Limit) Limit {
	if l.Max == 0 {
		l.Max = def.Max
	}
	if l.Window == 0 {
		l.Window = def.Window
	}
	if l.Window == 0 {
		l.Window = time.Hour
	}
	return l
}

// Allow counts one send of kind to number, or refuses it with a
// *LimitError: the country first (not allowed, or an unassigned calling
// code), then the number's, the country's and the overall limit, in that
// order. A send refused by a later limit has used its place under the
// earlier ones, so hammering a full country also uses up the numbers'
// limits. An error of the Counter is returned as it is (wrapped), and
// nothing is sent: the limits fail closed.
func (l *Limiter) Allow(ctx context.Context, kind Kind, number string) error {
	c, err := CountryOf(number)
	if err != nil && !errors.Is(err, ErrUnassignedCode) {
		return err
	}
	if err != nil || !l.countryAllowed(c.Region) {
		return l.refuse(ctx, &LimitError{Scope: ScopeNotAllowed, Kind: kind, Number: number, Region: c.Region})
	}
	countryLimit, ok := l.countries[c.Region]
	if !ok {
		countryLimit = l.perCountry
	}
	for _, check := range []struct {
		scope LimitScope
		key   string
		limit Limit
	}{
		{ScopeNumber, "notify:number:" + number, l.perNumber},
		{ScopeCountry, "notify:country:" + c.Region, countryLimit},
		{ScopeOverall, "notify:overall", l.overall},
	} {
		if check.limit.Max < 0 {
			continue
		}
		now := l.now()
		start := now.Truncate(check.limit.Window)
		ok, err := l.counter.Take(ctx, check.key, start, check.limit.Window, check.limit.Max)
		if err != nil {
			return fmt.Errorf("notify: checking the %s send limit: %w", check.scope, err)
		}
		if !ok {
			return l.refuse(ctx, &LimitError{Scope: check.scope, Kind: kind, Number: number, Region: c.Region, Limit: check.limit, RetryAfter: start.Add(check.limit.Window).Sub(now)})
		}
	}
	return nil
}

func (l *Limiter) countryAllowed(region string) bool {
	if l.allowed == nil {
		return region != NonGeographic
	}
	return l.allowed[region]
}

func (l *Limiter) refuse(ctx context.Context, e *LimitError) error {
	l.refused[scopeIndex(e.Scope)].Add(1)
	l.log.WarnContext(ctx, "notify: send limit", slog.String("kind", string(e.Kind)), slog.String("to", e.Number),
		slog.String("scope", string(e.Scope)), slog.String("region", e.Region), slog.Duration("retry_after", e.RetryAfter))
	if l.onRefused != nil {
		l.onRefused(ctx, e)
	}
	return e
}

func scopeIndex(s LimitScope) int {
	switch s {
	case ScopeNumber:
		return 0
	case ScopeCountry:
		return 1
	case ScopeOverall:
		return 2
	}
	return 3
}

// Refusals counts the sends this Limiter refused since it was created,
// by scope, for an admin page. (Counts of all instances need
// LimiterConfig.OnRefused.)
type Refusals struct {
	Number, Country, Overall, NotAllowed int64
}

// Refusals returns the counts of refused sends.
func (l *Limiter) Refusals() Refusals {
	return Refusals{
		Number:     l.refused[0].Load(),
		Country:    l.refused[1].Load(),
		Overall:    l.refused[2].Load(),
		NotAllowed: l.refused[3].Load(),
	}
}

// applyLimits drops the SMS that the Limiter refuses, with a
// *RecipientError for each, before they are sent or queued.
func (n *Notifier) applyLimits(ctx context.Context, msgs []Message, errs []error) ([]Message, []error) {
	if n.limiter == nil {
		return msgs, errs
	}
	kept := msgs[:0]
	for _, m := range msgs {
		if m.SMS != nil {
			if err := n.limiter.Allow(ctx, m.SMS.Kind, m.SMS.To); err != nil {
				errs = append(errs, &RecipientError{Kind: m.Kind(), Recipient: m.To(), Err: err, sensitive: m.Sensitive})
				continue
			}
		}
		kept = append(kept, m)
	}
	return kept, errs
}
