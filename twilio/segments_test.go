package twilio

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCountSegments(t *testing.T) {
	t.Parallel()
	a := strings.Repeat
	tests := []struct {
		name  string
		body  string
		enc   Encoding
		units int
		count int
	}{
		{"empty", "", GSM7, 0, 0},
		{"one char", "a", GSM7, 1, 1},
		{"160 GSM", a("a", 160), GSM7, 160, 1},
		{"161 GSM", a("a", 161), GSM7, 161, 2},
		{"306 GSM", a("a", 306), GSM7, 306, 2},
		{"307 GSM", a("a", 307), GSM7, 307, 3},
		{"GSM accents", "Ça coûte 5€ à Zürich", UCS2, 20, 1}, // û is not GSM-7
		{"GSM non-ASCII", "Çà £5 ¥ ¿ÆΩ§", GSM7, 12, 1},
		{"extension counts two", a("€", 80), GSM7, 160, 1},
		{"extension over one segment", a("{", 81), GSM7, 162, 2},
		{"escape not split", a("a", 152) + "{" + a("a", 152), GSM7, 306, 3},
		{"CR LF are GSM", "code:\r\n123456", GSM7, 13, 1},
		{"backtick is not GSM", "`", UCS2, 1, 1},
		{"tab is not GSM", "a\tb", UCS2, 3, 1},
		{"70 UCS-2", a("ж", 70), UCS2, 70, 1},
		{"71 UCS-2", a("ж", 71), UCS2, 71, 2},
		{"134 UCS-2", a("ж", 134), UCS2, 134, 2},
		{"135 UCS-2", a("ж", 135), UCS2, 135, 3},
		{"emoji is two units", "👍", UCS2, 2, 1},
		{"surrogate pair not split", a("ж", 66) + "😀" + a("ж", 66), UCS2, 134, 3},
		{"invalid UTF-8 forces UCS-2", "abc\xff", UCS2, 4, 1},
		{"one non-GSM char switches all", a("a", 100) + "ж", UCS2, 101, 2},
	}
	for _, tt := range tests {
		got := CountSegments(tt.body)
		assert.Equal(t, Segments{Encoding: tt.enc, Units: tt.units, Count: tt.count}, got, tt.name)
	}
}

// The lookup in gsmUnits must agree with the GSM 03.38 tables as written.
func TestGSMTables(t *testing.T) {
	t.Parallel()
	basic := map[rune]bool{}
	for _, r := range gsmBasic {
		basic[r] = true
	}
	require.Len(t, basic, 127, "128 codes less the escape")
	ext := map[rune]bool{}
	for _, r := range gsmExtension {
		ext[r] = true
	}
	require.Len(t, ext, 10)
	for r := rune(0); r < 0x3000; r++ {
		want := 0
		switch {
		case basic[r]:
			want = 1
		case ext[r]:
			want = 2
		}
		require.Equal(t, want, gsmUnits(r), "%U %q", r, r)
	}
	assert.Equal(t, 0, gsmUnits('😀'))
}

func FuzzCountSegments(f *testing.F) {
	for _, s := range []string{"", "a", strings.Repeat("a", 161), strings.Repeat("€", 81), "ж", "😀", "\xff", strings.Repeat("a", 152) + "{" + strings.Repeat("a", 152)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := CountSegments(body)
		if body == "" {
			if s.Count != 0 || s.Units != 0 {
				t.Fatalf("empty body: %+v", s)
			}
			return
		}
		runes := utf8.RuneCountInString(body)
		single, multi := gsmSingle, gsmMulti
		if s.Encoding == UCS2 {
			single, multi = ucsSingle, ucsMulti
		}
		switch {
		case s.Units < runes || s.Units > 2*runes:
			t.Fatalf("units %d for %d runes", s.Units, runes)
		case s.Units <= single && s.Count != 1:
			t.Fatalf("%d units in %d segments", s.Units, s.Count)
		case s.Units > single && (s.Count < (s.Units+multi-1)/multi || s.Count > s.Units/(multi-1)+1):
			t.Fatalf("%d units in %d segments", s.Units, s.Count)
		}
		gsm := true
		for _, r := range body {
			gsm = gsm && (strings.ContainsRune(gsmBasic, r) || strings.ContainsRune(gsmExtension, r))
		}
		if gsm != (s.Encoding == GSM7) {
			t.Fatalf("encoding %s, all GSM-7 %v", s.Encoding, gsm)
		}
	})
}

func BenchmarkCountSegments(b *testing.B) {
	bodies := map[string]string{
		"gsm-2fa":   "Your verification code is 123456. It expires in 10 minutes.",
		"gsm-long":  strings.Repeat("Lorem ipsum dolor sit amet [x] ", 50),
		"ucs2-long": strings.Repeat("Ваш код подтверждения 123456 👍 ", 40),
	}
	for name, body := range bodies {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				_ = CountSegments(body)
			}
		})
	}
}
