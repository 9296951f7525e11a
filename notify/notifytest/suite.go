package notifytest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/notify"
)

// Lease lengths of TestOutbox: a lease that outlives any subtest, and one
// the subtests wait out (ShortLease, then shortWait) to see it expire.
const (
	longLease = time.Hour
	// ShortLease is the lease TestOutbox waits out to test expiry; a
	// store's clock must not run more than a few tens of milliseconds
	// behind the test's for those subtests to pass.
	ShortLease = 300 * time.Millisecond
	shortWait  = ShortLease + 150*time.Millisecond
)

// TestOutbox tests a notify.Outbox against every sentence of the
// interface's doc, in the manner of testing/fstest.TestFS. Run it from a
// test of your own store, whatever database it lives on:
//
//	func TestOutbox(t *testing.T) {
//		notifytest.TestOutbox(t, func(t *testing.T) notify.Outbox {
//			return newEmptyOutboxOnAFreshTable(t)
//		})
//	}
//
// newOutbox must return an empty outbox; it is called once per subtest,
// with that subtest's t (register cleanups on it). The subtests check
// Enqueue (messages stored unchanged, hostile keys and bodies included;
// keys already present skipped, also within one call; all or nothing),
// Claim (at most max, oldest due first, Attempts incremented, a new lease
// token every claim, nothing while a lease lasts, the message back once
// it expires, never a delivered or dead one), MarkDelivered (final, and
// recorded even when the lease has expired or another claim holds the
// message), MarkFailed (due again at RetryAt, dead letters final, and
// nothing at all from a lease that is no longer current), and the same
// under concurrency: many goroutines claiming, acknowledging and failing
// while no message ever has two live leases, and concurrent Enqueues of
// overlapping keys. When the outbox implements notify.BatchMarker, its
// MarkDeliveredBatch is tested as MarkDelivered is.
//
// The suite reads time.Now for retry times and waits out leases of
// ShortLease, so a few subtests take about half a second each.
func TestOutbox(t *testing.T, newOutbox func(t *testing.T) notify.Outbox) {
	t.Helper()
	for _, c := range outboxChecks {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newOutbox(t))
		})
	}
}

var outboxChecks = []struct {
	name string
	run  func(t *testing.T, o notify.Outbox)
}{
	{"EnqueueStoresMessagesUnchanged", checkEnqueueStoresMessagesUnchanged},
	{"EnqueueResetsAttemptsAndLease", checkEnqueueResetsAttemptsAndLease},
	{"EnqueueSkipsKeysPresent", checkEnqueueSkipsKeysPresent},
	{"EnqueueIsAllOrNothing", checkEnqueueIsAllOrNothing},
	{"ClaimTakesAtMostMax", checkClaimTakesAtMostMax},
	{"ClaimTakesOldestDueFirst", checkClaimTakesOldestDueFirst},
	{"ClaimIsExclusiveWhileLeased", checkClaimIsExclusiveWhileLeased},
	{"LeaseExpiryMakesMessageDueAgain", checkLeaseExpiryMakesMessageDueAgain},
	{"MarkDeliveredIsFinal", checkMarkDeliveredIsFinal},
	{"MarkDeliveredAfterLeaseExpired", checkMarkDeliveredAfterLeaseExpired},
	{"MarkFailedRetriesAtRetryAt", checkMarkFailedRetriesAtRetryAt},
	{"MarkFailedDeadIsFinal", checkMarkFailedDeadIsFinal},
	{"LateMarkFailedChangesNothing", checkLateMarkFailedChangesNothing},
	{"MarkFailedTwiceWithOneLease", checkMarkFailedTwiceWithOneLease},
	{"ConcurrentClaimsNeverOverlap", checkConcurrentClaimsNeverOverlap},
	{"ConcurrentDeliveryCycles", checkConcurrentDeliveryCycles},
	{"ConcurrentEnqueueOfOverlappingKeys", checkConcurrentEnqueueOfOverlappingKeys},
	{"MarkDeliveredBatch", checkMarkDeliveredBatch},
}

// --- Fixtures ------------------------------------------------------------

// hostileKeys are keys that trip naive SQL, array literals, LIKE patterns
// and case or space folding.
var hostileKeys = []string{
	"k'quote", `k"dquote`, `k\backslash`, "k,comma", "{k}", "k}", "NULL", "null",
	"%", "_", " k ", "k", "K", "k\ttab", "ключ", "🔑", "k;DROP TABLE outbox;--",
	strings.Repeat("long", 60),
}

// sampleEmail returns an email whose every field is set, with key.
func sampleEmail(key string) notify.Message {
	return notify.Message{
		Email: &notify.Email{
			Kind:    notify.KindPasswordReset,
			To:      "alice+test@example.com",
			Subject: "Réinitialiser «mot de passe» \"quoted\" \\ 日本",
			Text:    "Open https://app.example.com/reset?token=s3cr3t&x=1\n\nLine 2 ' \" \\ {} [] %_\r\n",
			HTML:    "<p>Open <a href=\"https://app.example.com/reset?token=s3cr3t\">this</a> 🔑</p>",
			Headers: map[string]string{"X-Tenant": "acme", "X-Empty": ""},
			Key:     key,
		},
		Sensitive: []integrations.Secret{"s3cr3t", "https://app.example.com/reset?token=s3cr3t"},
	}
}

func sampleSMS(key string) notify.Message {
	return notify.Message{SMS: &notify.SMS{Kind: notify.KindTwoFactorCode, To: "+14155550100", Body: "Code 123456", Key: key}}
}

func plain(key string) notify.Message {
	return notify.Message{Email: &notify.Email{Kind: notify.KindTestEmail, To: "a@example.com", Subject: "s", Text: "t", Key: key}}
}

// content is m's JSON without the fields the outbox owns.
func content(t *testing.T, m notify.Message) string {
	t.Helper()
	m.Attempts, m.Lease = 0, ""
	b, err := json.Marshal(m)
	must(t, err, "encoding a message")
	return string(b)
}

func enqueue(t *testing.T, o notify.Outbox, msgs ...notify.Message) {
	t.Helper()
	must(t, o.Enqueue(t.Context(), msgs), "Enqueue of %d messages", len(msgs))
}

func claim(t *testing.T, o notify.Outbox, max int, lease time.Duration) []notify.Message {
	t.Helper()
	msgs, err := o.Claim(t.Context(), max, lease)
	must(t, err, "Claim(%d, %s)", max, lease)
	return msgs
}

// claimOne claims exactly the message with key.
func claimOne(t *testing.T, o notify.Outbox, key string, lease time.Duration) notify.Message {
	t.Helper()
	msgs := claim(t, o, 1, lease)
	if len(msgs) != 1 || msgs[0].Key() != key {
		t.Fatalf("Claim(1) = %q, want [%q]", keysOf(msgs), key)
	}
	return msgs[0]
}

func keysOf(msgs []notify.Message) []string {
	keys := make([]string, len(msgs))
	for i, m := range msgs {
		keys[i] = m.Key()
	}
	slices.Sort(keys)
	return keys
}

// assertNothingDue checks that no message can be claimed.
func assertNothingDue(t *testing.T, o notify.Outbox, why string) {
	t.Helper()
	msgs := claim(t, o, 100, longLease)
	if len(msgs) > 0 {
		t.Errorf("Claim returned %q, messages that %s", keysOf(msgs), why)
	}
}

func retryNow() notify.Failure {
	return notify.Failure{Reason: "421 try again later", RetryAt: time.Now().Add(-time.Minute)}
}

func dead() notify.Failure { return notify.Failure{Reason: "550 no such user", Dead: true} }

// must stops the subtest when err is not nil.
func must(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

// check reports a failure when ok is false, and goes on.
func check(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}

// --- Enqueue -------------------------------------------------------------

func checkEnqueueStoresMessagesUnchanged(t *testing.T, o notify.Outbox) {
	want := map[string]string{}
	var msgs []notify.Message
	for i, k := range hostileKeys {
		m := sampleEmail(k)
		if i%3 == 0 {
			m = sampleSMS(k)
		}
		msgs = append(msgs, m)
		want[k] = content(t, m)
	}
	big := sampleEmail("big")
	big.Email.Text = strings.Repeat("A long body line with 'quotes' and \"more\".\n", 2000)
	big.Email.Headers = nil
	msgs = append(msgs, big)
	want["big"] = content(t, big)
	enqueue(t, o, msgs...)

	got := claim(t, o, 100, longLease)
	if len(got) != len(msgs) {
		t.Fatalf("Claim(100) after enqueuing %d messages returned %d: every enqueued message is due at once", len(msgs), len(got))
	}
	for _, m := range got {
		if c := content(t, m); c != want[m.Key()] {
			t.Errorf("message %q comes back changed:\n got %s\nwant %s", m.Key(), c, want[m.Key()])
		}
		check(t, m.Attempts == 1, "Attempts of %q after its first claim = %d, want 1", m.Key(), m.Attempts)
		check(t, m.Lease != "", "Lease of %q after a claim is empty", m.Key())
	}
	enqueue(t, o) // nothing: no error
}

func checkEnqueueResetsAttemptsAndLease(t *testing.T, o notify.Outbox) {
	m := plain("k1")
	m.Attempts, m.Lease = 7, "forged-lease"
	enqueue(t, o, m)
	got := claimOne(t, o, "k1", longLease)
	check(t, got.Attempts == 1, "Attempts = %d after the first claim of a message enqueued with Attempts 7: Enqueue stores Attempts 0", got.Attempts)
	check(t, got.Lease != "forged-lease", "Claim kept the lease the message was enqueued with")
}

func checkEnqueueSkipsKeysPresent(t *testing.T, o notify.Outbox) {
	first := plain("k1")
	first.Email.Subject = "first"
	enqueue(t, o, first)
	second := plain("k1")
	second.Email.Subject = "second"
	dup := plain("k2")
	dup.Email.Subject = "second k2"
	enqueue(t, o, second, plain("k2"), dup)

	got := claim(t, o, 100, longLease)
	if !slices.Equal(keysOf(got), []string{"k1", "k2"}) {
		t.Fatalf("Claim = %q, want [k1 k2]: a key is stored once, also when one call holds it twice", keysOf(got))
	}
	for _, m := range got {
		if m.Key() == "k1" {
			check(t, m.Email.Subject == "first", "k1 has subject %q: a key already present is skipped, not overwritten", m.Email.Subject)
		}
	}

	// Final messages stay final when enqueued again.
	k1, k2 := got[0], got[1]
	if k1.Key() != "k1" {
		k1, k2 = k2, k1
	}
	must(t, o.MarkDelivered(t.Context(), k1), "MarkDelivered")
	must(t, o.MarkFailed(t.Context(), k2, dead()), "MarkFailed")
	enqueue(t, o, plain("k1"), plain("k2"))
	assertNothingDue(t, o, "were delivered or dead before being enqueued again")
}

func checkEnqueueIsAllOrNothing(t *testing.T, o notify.Outbox) {
	both := plain("both")
	both.SMS = &notify.SMS{To: "+14155550100", Body: "x", Key: "both"}
	for name, bad := range map[string]notify.Message{
		"no key":                plain(""),
		"both Email and SMS":    both,
		"neither Email nor SMS": {},
		"an SMS with no key":    sampleSMS(""),
	} {
		err := o.Enqueue(t.Context(), []notify.Message{plain("good-1-" + name), plain("good-2-" + name), bad})
		check(t, err != nil, "Enqueue of a batch holding a message with %s succeeded; want an error", name)
	}
	assertNothingDue(t, o, "came with an invalid message in one Enqueue: all or nothing")
	enqueue(t, o, plain("after"))
	got := keysOf(claim(t, o, 100, longLease))
	check(t, slices.Equal(got, []string{"after"}), "Claim = %q, want [after]", got)
}

// --- Claim ---------------------------------------------------------------

func checkClaimTakesAtMostMax(t *testing.T, o notify.Outbox) {
	enqueue(t, o, plain("k1"), plain("k2"), plain("k3"), plain("k4"), plain("k5"))
	for _, c := range []struct{ max, want int }{{0, 0}, {-1, 0}, {2, 2}, {10, 3}, {10, 0}} {
		got := claim(t, o, c.max, longLease)
		check(t, len(got) == c.want, "Claim(%d) returned %d messages, want %d", c.max, len(got), c.want)
	}
}

func checkClaimTakesOldestDueFirst(t *testing.T, o notify.Outbox) {
	for _, k := range []string{"k1", "k2", "k3"} {
		enqueue(t, o, plain(k))
		time.Sleep(5 * time.Millisecond) // distinct enqueue times
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		claimOne(t, o, k, longLease) // in enqueue order
	}

	enqueue(t, o, plain("a"), plain("b"), plain("c"), plain("later"))
	byKey := map[string]notify.Message{}
	for _, m := range claim(t, o, 10, longLease) {
		byKey[m.Key()] = m
	}
	if len(byKey) != 4 {
		t.Fatalf("Claim(10) of 4 returned %d", len(byKey))
	}
	now := time.Now()
	for k, ago := range map[string]time.Duration{"a": time.Minute, "b": 3 * time.Minute, "c": 2 * time.Minute, "later": -time.Hour} {
		must(t, o.MarkFailed(t.Context(), byKey[k], notify.Failure{Reason: "try later", RetryAt: now.Add(-ago)}), "MarkFailed")
	}
	for _, k := range []string{"b", "c", "a"} {
		claimOne(t, o, k, longLease) // earliest retry time first
	}
	assertNothingDue(t, o, "are due only in an hour")
}

func checkClaimIsExclusiveWhileLeased(t *testing.T, o notify.Outbox) {
	enqueue(t, o, plain("k1"), plain("k2"))
	first := claim(t, o, 1, longLease)
	second := claim(t, o, 10, longLease)
	if len(first) != 1 || len(second) != 1 || first[0].Key() == second[0].Key() {
		t.Fatalf("Claim(1) = %q, then Claim(10) = %q: want each of k1, k2 once", keysOf(first), keysOf(second))
	}
	check(t, first[0].Lease != second[0].Lease, "two claims got one lease token %q", first[0].Lease)
	assertNothingDue(t, o, "are leased")
}

func checkLeaseExpiryMakesMessageDueAgain(t *testing.T, o notify.Outbox) {
	enqueue(t, o, plain("short"))
	time.Sleep(5 * time.Millisecond)
	enqueue(t, o, plain("long"))
	first := claimOne(t, o, "short", ShortLease)
	claimOne(t, o, "long", longLease)
	time.Sleep(shortWait)

	again := claim(t, o, 10, longLease)
	if !slices.Equal(keysOf(again), []string{"short"}) {
		t.Fatalf("Claim after a lease of %s expired = %q, want [short]: only the expired lease (Claim honours its lease argument)", ShortLease, keysOf(again))
	}
	check(t, again[0].Attempts == 2, "Attempts after two claims = %d, want 2", again[0].Attempts)
	check(t, first.Lease != again[0].Lease, "a second claim reused the lease token %q", first.Lease)
	assertNothingDue(t, o, "are leased again")
}

// --- MarkDelivered ---------------------------------------------------------

func checkMarkDeliveredIsFinal(t *testing.T, o notify.Outbox) {
	enqueue(t, o, plain("k1"))
	m := claimOne(t, o, "k1", ShortLease)
	must(t, o.MarkDelivered(t.Context(), m), "MarkDelivered")
	time.Sleep(shortWait)
	assertNothingDue(t, o, "were delivered, even once their lease expired")
	must(t, o.MarkDelivered(t.Context(), m), "MarkDelivered of a delivered message (it does nothing)")
	must(t, o.MarkFailed(t.Context(), m, retryNow()), "MarkFailed")
	assertNothingDue(t, o, "were delivered before a MarkFailed with their lease")
}

func checkMarkDeliveredAfterLeaseExpired(t *testing.T, o notify.Outbox) {
	enqueue(t, o, plain("k1"))
	stale := claimOne(t, o, "k1", ShortLease)
	time.Sleep(shortWait)
	current := claimOne(t, o, "k1", longLease)

	must(t, o.MarkDelivered(t.Context(), stale), "MarkDelivered from an expired lease (the message was sent all the same)")
	must(t, o.MarkFailed(t.Context(), current, retryNow()), "MarkFailed")
	assertNothingDue(t, o, "were delivered by an expired lease while another claim held them")
}

// --- MarkFailed ------------------------------------------------------------

func checkMarkFailedRetriesAtRetryAt(t *testing.T, o notify.Outbox) {
	enqueue(t, o, plain("later"), plain("now"))
	msgs := claim(t, o, 2, longLease)
	if len(msgs) != 2 {
		t.Fatalf("Claim(2) of 2 returned %d", len(msgs))
	}
	for _, m := range msgs {
		f := retryNow()
		if m.Key() == "later" {
			f.RetryAt = time.Now().Add(time.Hour)
		}
		must(t, o.MarkFailed(t.Context(), m, f), "MarkFailed")
	}
	again := claim(t, o, 10, longLease)
	if !slices.Equal(keysOf(again), []string{"now"}) {
		t.Fatalf("Claim = %q, want [now]: only the message whose RetryAt has come", keysOf(again))
	}
	check(t, again[0].Attempts == 2, "Attempts after two claims = %d, want 2", again[0].Attempts)
}

func checkMarkFailedDeadIsFinal(t *testing.T, o notify.Outbox) {
	enqueue(t, o, plain("k1"))
	m := claimOne(t, o, "k1", ShortLease)
	must(t, o.MarkFailed(t.Context(), m, dead()), "MarkFailed(Dead)")
	time.Sleep(shortWait)
	assertNothingDue(t, o, "are dead letters, even once their lease expired")
	must(t, o.MarkFailed(t.Context(), m, retryNow()), "MarkFailed")
	assertNothingDue(t, o, "are dead letters; MarkFailed with their old lease must not revive them")
	must(t, o.MarkDelivered(t.Context(), m), "MarkDelivered")
	must(t, o.MarkFailed(t.Context(), m, retryNow()), "MarkFailed")
	assertNothingDue(t, o, "are dead letters")
}

func checkLateMarkFailedChangesNothing(t *testing.T, o notify.Outbox) {
	enqueue(t, o, plain("k1"))
	late := claimOne(t, o, "k1", ShortLease)
	time.Sleep(shortWait)
	current := claimOne(t, o, "k1", longLease)

	must(t, o.MarkFailed(t.Context(), late, retryNow()), "MarkFailed from an expired lease")
	assertNothingDue(t, o, "are leased by a newer claim; a late MarkFailed from an expired lease released them")
	must(t, o.MarkFailed(t.Context(), late, dead()), "MarkFailed(Dead) from an expired lease")

	must(t, o.MarkFailed(t.Context(), current, retryNow()), "MarkFailed")
	again := claim(t, o, 10, longLease)
	if !slices.Equal(keysOf(again), []string{"k1"}) {
		t.Fatalf("Claim = %q, want [k1]: the current lease's MarkFailed counts; a late MarkFailed(Dead) from an expired lease must not", keysOf(again))
	}
	check(t, again[0].Attempts == 3, "Attempts after three claims = %d, want 3", again[0].Attempts)
}

func checkMarkFailedTwiceWithOneLease(t *testing.T, o notify.Outbox) {
	enqueue(t, o, plain("k1"))
	m := claimOne(t, o, "k1", longLease)
	must(t, o.MarkFailed(t.Context(), m, notify.Failure{Reason: "later", RetryAt: time.Now().Add(time.Hour)}), "MarkFailed")
	must(t, o.MarkFailed(t.Context(), m, retryNow()), "MarkFailed")
	assertNothingDue(t, o, "failed with a retry in an hour; a second MarkFailed with the same, used lease moved it")

	enqueue(t, o, plain("k2"))
	m2 := claimOne(t, o, "k2", longLease)
	must(t, o.MarkFailed(t.Context(), m2, retryNow()), "MarkFailed")
	must(t, o.MarkFailed(t.Context(), m2, dead()), "MarkFailed(Dead)")
	again := claim(t, o, 10, longLease)
	check(t, slices.Equal(keysOf(again), []string{"k2"}), "Claim = %q, want [k2]: a second MarkFailed with a used lease must not make a dead letter", keysOf(again))
}

// --- Concurrency -----------------------------------------------------------

// errs collects failures from goroutines, which must not call t.FailNow.
type errs struct {
	mu   sync.Mutex
	list []string
}

func (e *errs) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.list) < 10 {
		e.list = append(e.list, fmt.Sprintf(format, args...))
	}
}

func (e *errs) report(t *testing.T) {
	t.Helper()
	for _, s := range e.list {
		t.Error(s)
	}
}

func checkConcurrentClaimsNeverOverlap(t *testing.T, o notify.Outbox) {
	const n, workers, batch = 300, 8, 5
	var msgs []notify.Message
	for i := range n {
		msgs = append(msgs, plain(fmt.Sprintf("c%03d", i)))
	}
	enqueue(t, o, msgs...)

	var mu sync.Mutex
	claimedBy := map[string]int{}
	var problems errs
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range n { // a broken store may never run dry
				got, err := o.Claim(t.Context(), batch, longLease)
				if err != nil {
					problems.add("Claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				if len(got) > batch {
					problems.add("Claim(%d) returned %d messages", batch, len(got))
				}
				mu.Lock()
				for _, m := range got {
					if prev, ok := claimedBy[m.Key()]; ok {
						problems.add("message %q claimed by worker %d and again by worker %d while its lease lasts", m.Key(), prev, w)
					}
					claimedBy[m.Key()] = w
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	problems.report(t)
	check(t, len(claimedBy) == n, "%d of %d messages claimed", len(claimedBy), n)
}

// checkConcurrentDeliveryCycles runs workers that claim, then fail (to be
// retried at once) or deliver, until every message is delivered. A
// message must never be held by two live leases: a worker releases its
// hold before it answers, and a claim of a message still held is a
// violation.
func checkConcurrentDeliveryCycles(t *testing.T, o notify.Outbox) {
	const n, workers, batch = 150, 8, 3
	var msgs []notify.Message
	for i := range n {
		msgs = append(msgs, plain(fmt.Sprintf("d%03d", i)))
	}
	enqueue(t, o, msgs...)

	var mu sync.Mutex
	held := map[string]bool{}
	delivered := map[string]int{}
	var problems errs
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Minute)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				got, err := o.Claim(t.Context(), batch, longLease)
				if err != nil {
					problems.add("Claim: %v", err)
					return
				}
				mu.Lock()
				done := len(delivered) == n
				for _, m := range got {
					if held[m.Key()] {
						problems.add("message %q claimed while another worker holds its lease", m.Key())
					}
					held[m.Key()] = true
				}
				mu.Unlock()
				if done {
					return
				}
				for i, m := range got {
					mu.Lock()
					delete(held, m.Key())
					deliver := (m.Attempts+w+i)%3 == 0 || m.Attempts >= 4
					if deliver {
						delivered[m.Key()]++
					}
					mu.Unlock()
					if deliver {
						err = o.MarkDelivered(t.Context(), m)
					} else {
						err = o.MarkFailed(t.Context(), m, retryNow())
					}
					if err != nil {
						problems.add("answering a claim of %q: %v", m.Key(), err)
					}
				}
			}
		}()
	}
	wg.Wait()
	problems.report(t)
	check(t, len(delivered) == n, "%d of %d messages delivered within a minute", len(delivered), n)
	for k, c := range delivered {
		if c != 1 {
			t.Errorf("message %q delivered %d times", k, c)
		}
	}
	assertNothingDue(t, o, "were all delivered")
}

func checkConcurrentEnqueueOfOverlappingKeys(t *testing.T, o notify.Outbox) {
	const keys, workers = 60, 6
	var problems errs
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker enqueues every key, in its own order and batches.
			var batch []notify.Message
			for i := range keys {
				k := (i*7 + w*13) % keys
				batch = append(batch, plain(fmt.Sprintf("e%02d", k)))
				if len(batch) == 4+w {
					if err := o.Enqueue(t.Context(), batch); err != nil {
						problems.add("Enqueue: %v", err)
					}
					batch = nil
				}
			}
			if err := o.Enqueue(t.Context(), batch); err != nil {
				problems.add("Enqueue: %v", err)
			}
		}()
	}
	wg.Wait()
	problems.report(t)
	got := keysOf(claim(t, o, 1000, longLease))
	check(t, len(got) == keys, "%d messages stored for %d keys enqueued by %d goroutines", len(got), keys, workers)
	check(t, len(slices.Compact(got)) == keys, "%d distinct keys of %d", len(slices.Compact(got)), keys)
}

// --- BatchMarker -----------------------------------------------------------

func checkMarkDeliveredBatch(t *testing.T, o notify.Outbox) {
	bm, ok := o.(notify.BatchMarker)
	if !ok {
		t.Skip("the outbox does not implement notify.BatchMarker")
	}
	ctx := t.Context()
	enqueue(t, o, plain("a"), plain("b"), plain("c"), plain("d"), plain("stale"))
	must(t, bm.MarkDeliveredBatch(ctx, nil), "MarkDeliveredBatch of an empty batch")

	var stale notify.Message
	var rest []notify.Message
	for _, m := range claim(t, o, 10, ShortLease) {
		if m.Key() == "stale" {
			stale = m
		} else {
			rest = append(rest, m)
		}
	}
	if len(rest) != 4 || stale.Lease == "" {
		t.Fatalf("Claim(10) of 5 returned %d", len(rest)+1)
	}
	must(t, bm.MarkDeliveredBatch(ctx, rest[:2]), "MarkDeliveredBatch")
	time.Sleep(shortWait)
	current := claim(t, o, 10, longLease)
	want := []string{rest[2].Key(), rest[3].Key(), "stale"}
	slices.Sort(want)
	if !slices.Equal(keysOf(current), want) {
		t.Fatalf("Claim after the leases expired = %q, want %q: the two messages of the batch are final", keysOf(current), want)
	}

	// One batch mixes a current lease, an expired one whose message
	// another claim holds, and a message already delivered.
	must(t, bm.MarkDeliveredBatch(ctx, []notify.Message{rest[2], stale, rest[0]}), "MarkDeliveredBatch")
	for _, m := range current {
		must(t, o.MarkFailed(ctx, m, retryNow()), "MarkFailed")
	}
	got := keysOf(claim(t, o, 10, longLease))
	check(t, slices.Equal(got, []string{rest[3].Key()}), "Claim = %q, want [%s]: MarkDeliveredBatch records every send, whatever the lease", got, rest[3].Key())
}
