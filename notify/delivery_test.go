package notify_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/siteadmin/integrations/notify"
)

func TestDeliveryStatusSupersedes(t *testing.T) {
	t.Parallel()
	st := func(s notify.DeliveryState) notify.DeliveryStatus { return notify.DeliveryStatus{State: s} }
	none := notify.DeliveryStatus{}
	tests := []struct {
		next, cur notify.DeliveryStatus
		want      bool
	}{
		{st(notify.DeliveryQueued), none, true},
		{st(notify.DeliverySent), st(notify.DeliveryQueued), true},
		{st(notify.DeliverySent), st(notify.DeliverySent), true}, // a repeat refreshes At
		{st(notify.DeliveryDelivered), st(notify.DeliverySent), true},
		{st(notify.DeliveryUndelivered), none, true},
		{st(notify.DeliverySent), st(notify.DeliveryDelivered), false}, // late report
		{st(notify.DeliveryQueued), st(notify.DeliverySent), false},
		{st(notify.DeliveryDelivered), st(notify.DeliveryUndelivered), false}, // the first final stays
		{st(notify.DeliveryFailed), st(notify.DeliveryFailed), false},
		{st("bogus"), none, false},
		{none, none, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.next.Supersedes(tc.cur), "%q over %q", tc.next.State, tc.cur.State)
	}
	for s, final := range map[notify.DeliveryState]bool{
		notify.DeliveryQueued: false, notify.DeliverySent: false, notify.DeliveryDelivered: true,
		notify.DeliveryUndelivered: true, notify.DeliveryFailed: true, "": false, "read": false,
	} {
		assert.Equal(t, final, s.Final(), s)
	}
}
