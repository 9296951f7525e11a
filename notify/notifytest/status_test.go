package notifytest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
)

// statusMutants are status recorders with one plausible mistake each, and
// the subtests of notifytest.TestStatusRecorder that must catch it.
var statusMutants = map[string][]string{
	"always replaces":             {"LowerRankIsIgnored", "FirstFinalStays"},
	"final replaces final":        {"FirstFinalStays"},
	"same rank ignored":           {"SameRankReplacesUntilFinal"},
	"unknown key ignored":         {"UnknownKey"},
	"stores a state without rank": {"StateWithoutRankIsRefused"},
	"ignores the context":         {"DoneContextRecordsNothing"},
	"read then write":             {"ConcurrentOutOfOrderReports"},
	"a field at a time":           {"ConcurrentFinalReports"},
	"enqueue clears the status":   {"WhateverTheOutboxState"},
	"keeps the wall clock":        {"ReportIsStoredWhole"},
	"drops microseconds":          {"ReportIsStoredWhole"},
	"no status is unknown":        {"NoStatusUntilReported"},
}

const statusMutantEnv = "NOTIFYTEST_STATUS_MUTANT"

// TestStatusMutant runs the suite on the mutant named by
// NOTIFYTEST_STATUS_MUTANT, in a child process of
// TestStatusRecorderSuiteCatchesMutants.
func TestStatusMutant(t *testing.T) {
	name := os.Getenv(statusMutantEnv)
	if name == "" {
		t.Skip("run by TestStatusRecorderSuiteCatchesMutants")
	}
	if _, ok := statusMutants[name]; !ok && name != "none" {
		t.Fatalf("no mutant %q", name)
	}
	notifytest.TestStatusRecorder(t, func(*testing.T) notifytest.StatusOutbox {
		return &statusMutant{Outbox: notifytest.NewOutbox(nil), bug: name, statuses: map[string]notify.DeliveryStatus{}}
	})
}

func TestStatusRecorderSuiteCatchesMutants(t *testing.T) {
	t.Parallel()
	for name, want := range statusMutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			failed, out := runMutant(t, "TestStatusMutant", statusMutantEnv, name, want)
			for _, w := range want {
				assert.Contains(t, failed, w, "subtest %s passed a recorder that %s\n%s", w, name, out)
			}
		})
	}
}

// The mutants' base, with no bug switched on, passes the suite.
func TestStatusRecorderSuitePassesTheMutantsBase(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestStatusMutant$", "-test.v", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), statusMutantEnv+"=none")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "--- PASS: TestStatusMutant/ConcurrentFinalReports")
}

// statusMutant keeps statuses beside a memory outbox, with one bug
// switched on.
type statusMutant struct {
	*notifytest.Outbox
	bug      string
	mu       sync.Mutex
	statuses map[string]notify.DeliveryStatus
}

func (o *statusMutant) Enqueue(ctx context.Context, msgs []notify.Message) error {
	if o.bug == "enqueue clears the status" {
		o.mu.Lock()
		for _, m := range msgs {
			delete(o.statuses, m.Key())
		}
		o.mu.Unlock()
	}
	return o.Outbox.Enqueue(ctx, msgs)
}

func (o *statusMutant) RecordStatus(ctx context.Context, key string, st notify.DeliveryStatus) error {
	if err := ctx.Err(); err != nil && o.bug != "ignores the context" {
		return err
	}
	if st.State.Rank() == 0 && o.bug != "stores a state without rank" {
		return fmt.Errorf("unknown state %q", st.State)
	}
	if _, ok := o.Record(key); !ok {
		if o.bug == "unknown key ignored" {
			return nil
		}
		return fmt.Errorf("%w: %q", notify.ErrUnknownMessage, key)
	}
	switch o.bug {
	case "keeps the wall clock":
		a := st.At
		st.At = time.Date(a.Year(), a.Month(), a.Day(), a.Hour(), a.Minute(), a.Second(), a.Nanosecond(), time.UTC)
	case "drops microseconds":
		st.At = st.At.Truncate(time.Second)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	cur := o.statuses[key]
	n, c := st.State.Rank(), cur.State.Rank()
	var replace bool
	switch o.bug {
	case "always replaces":
		replace = true
	case "final replaces final":
		replace = n >= c
	case "same rank ignored":
		replace = n > c
	case "read then write", "a field at a time":
		replace = st.Supersedes(cur)
		o.mu.Unlock()
		yield()
		o.mu.Lock()
	default:
		replace = st.Supersedes(cur)
	}
	if !replace {
		return nil
	}
	if o.bug == "a field at a time" {
		s := o.statuses[key]
		s.State = st.State
		o.statuses[key] = s
		o.mu.Unlock()
		yield()
		o.mu.Lock()
		s = o.statuses[key]
		s.ProviderID, s.ErrorCode, s.Reason, s.At = st.ProviderID, st.ErrorCode, st.Reason, st.At
		o.statuses[key] = s
		return nil
	}
	o.statuses[key] = st
	return nil
}

func (o *statusMutant) DeliveryStatus(ctx context.Context, key string) (notify.DeliveryStatus, error) {
	if _, ok := o.Record(key); !ok {
		return notify.DeliveryStatus{}, fmt.Errorf("%w: %q", notify.ErrUnknownMessage, key)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	st, ok := o.statuses[key]
	if !ok && o.bug == "no status is unknown" {
		return notify.DeliveryStatus{}, errors.New("no status")
	}
	return st, nil
}

// yield lets the other goroutines run for about as long as the round trip
// to a database between two statements would.
func yield() {
	runtime.Gosched()
	time.Sleep(100 * time.Microsecond)
}
