package notify_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
)

func TestCountryOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		number, region, code, prefix string
	}{
		{"+14155550100", "US", "1", "1"},
		{"+18005550100", "US", "1", "1"}, // toll-free, NANP-wide
		{"+16135550100", "CA", "1", "1613"},
		{"+14165550100", "CA", "1", "1416"},
		{"+18765550100", "JM", "1", "1876"},
		{"+18095550100", "DO", "1", "1809"},
		{"+18495550100", "DO", "1", "1849"},
		{"+12425550100", "BS", "1", "1242"},
		{"+17875550100", "PR", "1", "1787"},
		{"+16715550100", "GU", "1", "1671"},
		{"+16495550100", "TC", "1", "1649"},
		{"+79161234567", "RU", "7", "7"},
		{"+77011234567", "KZ", "7", "77"},
		{"+76221234567", "KZ", "7", "76"},
		{"+447700900123", "GB", "44", "44"},
		{"+33612345678", "FR", "33", "33"},
		{"+4915112345678", "DE", "49", "49"},
		{"+353851234567", "IE", "353", "353"},
		{"+2348031234567", "NG", "234", "234"},
		{"+201001234567", "EG", "20", "20"},
		{"+27821234567", "ZA", "27", "27"},
		{"+5511912345678", "BR", "55", "55"},
		{"+5999123456", "CW", "599", "599"},
		{"+61412345678", "AU", "61", "61"},
		{"+6721234567", "NF", "672", "672"},
		{"+8613812345678", "CN", "86", "86"},
		{"+85291234567", "HK", "852", "852"},
		{"+919812345678", "IN", "91", "91"},
		{"+9715012345678", "AE", "971", "971"},
		{"+383441234567", "XK", "383", "383"},
		{"+88212345678", notify.NonGeographic, "882", "882"},
		{"+881612345678", notify.NonGeographic, "881", "881"},
		{"+979123456789", notify.NonGeographic, "979", "979"},
		{"+80012345678", notify.NonGeographic, "800", "800"},
	}
	for _, tc := range tests {
		c, err := notify.CountryOf(tc.number)
		require.NoError(t, err, tc.number)
		assert.Equal(t, notify.Country{Region: tc.region, CallingCode: tc.code, Prefix: tc.prefix}, c, tc.number)
		assert.True(t, notify.KnownRegion(c.Region), c.Region)
	}
}

func TestCountryOfRefuses(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"+2801234567", "+2101234567", "+8011234567", "+9991234567", "+3841234567", "+6931234567"} {
		_, err := notify.CountryOf(n)
		assert.ErrorIs(t, err, notify.ErrUnassignedCode, n)
	}
	for _, n := range []string{"", "+", "14155550100", "+0123", "+1 415 555", "+1234567890123456", "+١٢٣"} {
		_, err := notify.CountryOf(n)
		assert.ErrorIs(t, err, notify.ErrInvalidRecipient, n)
	}
	assert.False(t, notify.KnownRegion("UK"))
	assert.False(t, notify.KnownRegion(""))
	assert.True(t, notify.KnownRegion("GB"))
}

func FuzzCountryOf(f *testing.F) {
	for _, s := range []string{"+14155550100", "+18765550100", "+77011234567", "+882123", "+2801", "+", "", "+1", "+99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, number string) {
		c, err := notify.CountryOf(number)
		if err != nil {
			return
		}
		if !strings.HasPrefix(number, "+"+c.Prefix) || !strings.HasPrefix(c.Prefix, c.CallingCode) || !notify.KnownRegion(c.Region) {
			t.Fatalf("CountryOf(%q) = %+v", number, c)
		}
	})
}

func BenchmarkCountryOf(b *testing.B) {
	numbers := []string{"+14155550100", "+18765550100", "+447700900123", "+77011234567", "+88212345678"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := notify.CountryOf(numbers[i%len(numbers)]); err != nil {
			b.Fatal(err)
		}
	}
}
