package notifytest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
)

// mutants are outboxes with one plausible mistake each, and the subtests of
// notifytest.TestOutbox that must catch it.
var mutants = map[string][]string{
	"claim without locking":            {"ConcurrentClaimsNeverOverlap"},
	"claim ignores leases":             {"ClaimIsExclusiveWhileLeased", "ConcurrentClaimsNeverOverlap"},
	"claim ignores the lease argument": {"LeaseExpiryMakesMessageDueAgain"},
	"claim ignores max":                {"ClaimTakesAtMostMax"},
	"claim newest first":               {"ClaimTakesOldestDueFirst"},
	"claim keeps attempts":             {"EnqueueStoresMessagesUnchanged", "LeaseExpiryMakesMessageDueAgain"},
	"claim reuses the lease token":     {"LeaseExpiryMakesMessageDueAgain"},
	"claim returns final messages":     {"MarkDeliveredIsFinal", "MarkFailedDeadIsFinal"},
	"mark failed without lease check":  {"LateMarkFailedChangesNothing"},
	"mark failed without state check":  {"MarkFailedTwiceWithOneLease", "MarkFailedDeadIsFinal"},
	"mark failed ignores retry at":     {"MarkFailedRetriesAtRetryAt", "ClaimTakesOldestDueFirst"},
	"mark delivered needs the lease":   {"MarkDeliveredAfterLeaseExpired"},
	"enqueue stops at a bad message":   {"EnqueueIsAllOrNothing"},
	"enqueue overwrites":               {"EnqueueSkipsKeysPresent"},
	"enqueue keeps attempts and lease": {"EnqueueResetsAttemptsAndLease"},
	"enqueue without locking":          {"ConcurrentEnqueueOfOverlappingKeys"},
	"enqueue drops headers":            {"EnqueueStoresMessagesUnchanged"},
	"batch marks the first only":       {"MarkDeliveredBatch"},
}

const mutantEnv = "NOTIFYTEST_MUTANT"

// TestMutant runs the suite on the mutant named by NOTIFYTEST_MUTANT. It is
// run by TestOutboxSuiteCatchesMutants in a child process, where the suite
// is expected to fail.
func TestMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("run by TestOutboxSuiteCatchesMutants")
	}
	notifytest.TestOutbox(t, func(*testing.T) notify.Outbox { return newMutant(name) })
}

// The suite is only worth something if it fails on broken outboxes: run
// it on each mutant in a child process and check that the subtests meant
// to catch the mistake fail.
func TestOutboxSuiteCatchesMutants(t *testing.T) {
	t.Parallel()
	for name, want := range mutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			failed, out := runMutant(t, "TestMutant", mutantEnv, name, want)
			for _, w := range want {
				assert.Contains(t, failed, w, "subtest %s passed an outbox whose %s\n%s", w, name, out)
			}
		})
	}
}

// The mutants' common code, with no bug switched on, passes the suite: the
// failures above come from the bugs.
func TestOutboxSuitePassesTheMutantsBase(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMutant$", "-test.v", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), mutantEnv+"=none")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "--- PASS: TestMutant/ConcurrentDeliveryCycles")
}

// runMutant runs test in a child process with env=name, limited to the
// subtests in want, and returns the subtests that failed.
func runMutant(t *testing.T, test, env, name string, want []string) ([]string, string) {
	t.Helper()
	pattern := "^" + test + "$/^(" + strings.Join(want, "|") + ")$"
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+pattern, "-test.v", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), env+"="+name)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the suite passed the mutant %q (err %v):\n%s", name, err, out)
	var failed []string
	for _, m := range regexp.MustCompile(`--- FAIL: `+test+`/(\S+)`).FindAllStringSubmatch(string(out), -1) {
		failed = append(failed, m[1])
	}
	return failed, string(out)
}

// mutant is a small memory outbox with one bug switched on.
type mutant struct {
	bug    string
	mu     sync.Mutex
	recs   map[string]*mrec
	seq    int
	leases int
}

type mrec struct {
	msg    notify.Message
	state  notifytest.State
	due    time.Time
	seq    int
	reason string
}

func newMutant(bug string) *mutant {
	if _, ok := mutants[bug]; !ok && bug != "none" {
		panic("no mutant " + bug)
	}
	return &mutant{bug: bug, recs: map[string]*mrec{}}
}

func (o *mutant) Enqueue(_ context.Context, msgs []notify.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.bug != "enqueue stops at a bad message" {
		for _, m := range msgs {
			if (m.Email == nil) == (m.SMS == nil) || m.Key() == "" {
				return errors.New("bad message")
			}
		}
	}
	for _, m := range msgs {
		if (m.Email == nil) == (m.SMS == nil) || m.Key() == "" {
			return errors.New("bad message")
		}
		if o.bug == "enqueue without locking" {
			_, seen := o.recs[m.Key()]
			o.mu.Unlock()
			runtime.Gosched()
			o.mu.Lock()
			if seen {
				continue
			}
			o.seq++
			o.recs[m.Key()+"#"+strconv.Itoa(o.seq)] = o.record(m)
			continue
		}
		if _, seen := o.recs[m.Key()]; seen && o.bug != "enqueue overwrites" {
			continue
		}
		o.recs[m.Key()] = o.record(m)
	}
	return nil
}

func (o *mutant) record(m notify.Message) *mrec {
	o.seq++
	m = clone(m)
	if o.bug != "enqueue keeps attempts and lease" {
		m.Attempts, m.Lease = 0, ""
	}
	if o.bug == "enqueue drops headers" && m.Email != nil {
		m.Email.Headers = nil
	}
	return &mrec{msg: m, state: notifytest.Pending, due: time.Now(), seq: o.seq}
}

func (o *mutant) Claim(_ context.Context, max int, lease time.Duration) ([]notify.Message, error) {
	if max <= 0 && o.bug != "claim ignores max" {
		return nil, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	var due []*mrec
	for _, r := range o.recs {
		open := r.state == notifytest.Pending || r.state == notifytest.Leased || o.bug == "claim returns final messages"
		if open && (!r.due.After(now) || o.bug == "claim ignores leases" && r.state == notifytest.Leased) {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(a, b *mrec) int {
		if o.bug == "claim newest first" {
			a, b = b, a
		}
		if c := a.due.Compare(b.due); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	if o.bug != "claim ignores max" {
		due = due[:min(max, len(due))]
	}
	if o.bug == "claim without locking" {
		o.mu.Unlock()
		runtime.Gosched() // as the round trip between a SELECT and its UPDATE
		o.mu.Lock()
	}
	if o.bug == "claim ignores the lease argument" {
		lease = 100 * time.Millisecond
	}
	var out []notify.Message
	for _, r := range due {
		o.leases++
		r.state, r.due = notifytest.Leased, now.Add(lease)
		if o.bug != "claim keeps attempts" {
			r.msg.Attempts++
		}
		r.msg.Lease = "lease-" + strconv.Itoa(o.leases)
		if o.bug == "claim reuses the lease token" {
			r.msg.Lease = "lease-" + r.msg.Key()
		}
		out = append(out, clone(r.msg))
	}
	return out, nil
}

func (o *mutant) MarkDelivered(_ context.Context, m notify.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.deliver(m)
}

func (o *mutant) deliver(m notify.Message) error {
	r, ok := o.recs[m.Key()]
	if !ok {
		return errors.New("no such message")
	}
	if o.bug == "mark delivered needs the lease" && r.msg.Lease != m.Lease {
		return nil
	}
	if r.state == notifytest.Pending || r.state == notifytest.Leased {
		r.state = notifytest.Delivered
	}
	return nil
}

func (o *mutant) MarkDeliveredBatch(_ context.Context, msgs []notify.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.bug == "batch marks the first only" && len(msgs) > 1 {
		msgs = msgs[:1]
	}
	for _, m := range msgs {
		if err := o.deliver(m); err != nil {
			return err
		}
	}
	return nil
}

func (o *mutant) MarkFailed(_ context.Context, m notify.Message, f notify.Failure) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.recs[m.Key()]
	if !ok {
		return errors.New("no such message")
	}
	if r.state != notifytest.Leased && o.bug != "mark failed without state check" {
		return nil
	}
	if r.msg.Lease != m.Lease && o.bug != "mark failed without lease check" {
		return nil
	}
	r.reason = f.Reason
	switch {
	case f.Dead:
		r.state = notifytest.Dead
	case o.bug == "mark failed ignores retry at":
		r.state, r.due = notifytest.Pending, time.Now()
	default:
		r.state, r.due = notifytest.Pending, f.RetryAt
	}
	return nil
}

func clone(m notify.Message) notify.Message {
	if m.Email != nil {
		e := *m.Email
		if e.Headers != nil {
			e.Headers = map[string]string{}
			for k, v := range m.Email.Headers {
				e.Headers[k] = v
			}
		}
		m.Email = &e
	}
	if m.SMS != nil {
		s := *m.SMS
		m.SMS = &s
	}
	m.Sensitive = slices.Clone(m.Sensitive)
	return m
}
