package twilio

import (
	"strings"
	"unicode/utf8"
)

// Encoding is how a body travels as SMS: GSM7 when every character is in
// the GSM 03.38 alphabet (or its extension table), UCS2 otherwise.
type Encoding string

// The two SMS encodings.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Segments is what CountSegments found.
type Segments struct {
	// Encoding is GSM7 or UCS2.
	Encoding Encoding
	// Units is the body's length in the encoding's units: septets for GSM7
	// (an extension character such as "€" or "{" takes two), UTF-16 code
	// units for UCS2 (a character outside the BMP, such as an emoji, takes
	// two).
	Units int
	// Count is the number of SMS segments the body is sent (and billed) as;
	// 0 for an empty body.
	Count int
}

// Segment sizes, in units: one segment alone, and each segment of a longer
// message (the rest carries the concatenation header).
const (
	gsmSingle, gsmMulti = 160, 153
	ucsSingle, ucsMulti = 70, 67
)

// CountSegments reports how many SMS segments body takes: GSM-7 holds 160
// septets in one segment and 153 in each of several; UCS-2 holds 70 code
// units in one and 67 in each of several. A character is never split
// between segments (an extension character's escape stays with it, a
// surrogate pair stays whole), as phones and Twilio do. Invalid UTF-8
// counts as U+FFFD, which forces UCS-2.
func CountSegments(body string) Segments {
	if body == "" {
		return Segments{Encoding: GSM7}
	}
	septets, ok := gsmLength(body)
	if ok {
		return Segments{Encoding: GSM7, Units: septets, Count: count(body, septets, gsmSingle, gsmMulti, gsmUnits)}
	}
	units := 0
	for _, r := range body {
		units += ucsUnits(r)
	}
	return Segments{Encoding: UCS2, Units: units, Count: count(body, units, ucsSingle, ucsMulti, ucsUnits)}
}

// gsmLength returns body's length in septets, or false when a character is
// outside GSM-7.
func gsmLength(body string) (int, bool) {
	n := 0
	for _, r := range body {
		u := gsmUnits(r)
		if u == 0 {
			return 0, false
		}
		n += u
	}
	return n, true
}

// count packs the characters of body, each of size(r) units, into segments
// of multi units when the total exceeds single.
func count(body string, total, single, multi int, size func(rune) int) int {
	if total <= single {
		return 1
	}
	segments, used := 1, 0
	for _, r := range body {
		u := size(r)
		if used+u > multi {
			segments++
			used = 0
		}
		used += u
	}
	return segments
}

func ucsUnits(r rune) int {
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}

// gsmBasic is the GSM 03.38 default alphabet in code order, without the
// escape code 0x1B; gsmExtension is what follows the escape.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ" +
		" !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
		"¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
	gsmNonASCII  = "£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà"
)

// gsmUnits returns 1 for a character of the basic alphabet, 2 for one of
// the extension table, 0 for one outside GSM-7.
func gsmUnits(r rune) int {
	if r < 0x80 {
		switch {
		case r == '\n' || r == '\r':
			return 1
		case r == '`' || r < ' ' && r != '\f' || r == 0x7F:
			return 0
		case r == '\f' || r == '^' || r == '{' || r == '}' || r == '\\' || r == '[' || r == ']' || r == '~' || r == '|':
			return 2
		default:
			return 1
		}
	}
	if r == '€' {
		return 2
	}
	if strings.ContainsRune(gsmNonASCII, r) {
		return 1
	}
	return 0
}
