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
	// One pass packs the characters both ways; GSM-7 wins if every
	// character has a septet code.
	var gsm, ucs packer
	isGSM := true
	for _, r := range body {
		if isGSM {
			var u int
			if r < 0x80 { // the common case, kept inline
				u = int(gsmASCII[r])
			} else {
				u = gsmUnits(r)
			}
			if u == 0 {
				isGSM = false
			} else {
				gsm.add(u, gsmMulti)
			}
		}
		ucs.add(ucsUnits(r), ucsMulti)
	}
	if isGSM {
		return gsm.result(GSM7, gsmSingle)
	}
	return ucs.result(UCS2, ucsSingle)
}

// packer fills segments of a long message, never splitting a character.
type packer struct {
	units, full, used int // full: segments filled before the current one
}

func (p *packer) add(units, multi int) {
	p.units += units
	if p.used+units > multi {
		p.full++
		p.used = 0
	}
	p.used += units
}

func (p *packer) result(enc Encoding, single int) Segments {
	if p.units <= single {
		return Segments{Encoding: enc, Units: p.units, Count: 1}
	}
	return Segments{Encoding: enc, Units: p.units, Count: p.full + 1}
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

// gsmASCII holds gsmUnits for the ASCII range, built once from the tables
// above and never changed.
var gsmASCII = func() (t [0x80]uint8) {
	for _, r := range gsmBasic {
		if r < 0x80 {
			t[r] = 1
		}
	}
	for _, r := range gsmExtension {
		if r < 0x80 {
			t[r] = 2
		}
	}
	return t
}()

// gsmUnits returns 1 for a character of the basic alphabet, 2 for one of
// the extension table, 0 for one outside GSM-7.
func gsmUnits(r rune) int {
	switch {
	case 0 <= r && r < 0x80:
		return int(gsmASCII[r])
	case r == '€':
		return 2
	case strings.ContainsRune(gsmNonASCII, r):
		return 1
	}
	return 0
}
