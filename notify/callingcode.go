package notify

import (
	"errors"
	"fmt"
)

// ErrUnassignedCode: the number's country calling code is not one the
// ITU has assigned, so no SMS can reach it.
var ErrUnassignedCode = errors.New("notify: unassigned country calling code")

// NonGeographic is the Region of the calling codes that belong to no
// country (as libphonenumber names them): international freephone (+800),
// shared cost (+808), Inmarsat (+870), UPT (+878), global mobile
// satellite systems (+881), international networks (+882, +883), OCHA
// (+888) and international premium rate (+979). Nobody needs a
// two-factor code there, and SMS pumping loves them.
const NonGeographic = "001"

// Country is where a phone number belongs, by its E.164 calling code.
type Country struct {
	// Region is the ISO 3166-1 alpha-2 code of the country or territory,
	// such as "US", "JM" or "KZ"; NonGeographic ("001") for the codes of
	// no country; and, as in libphonenumber, "AC" for Ascension Island
	// and "XK" for Kosovo, which have calling codes but no ISO code.
	Region string
	// CallingCode is the E.164 country code: "1", "44", "7", "882".
	CallingCode string
	// Prefix is the table entry that matched, the longest one that
	// begins the number: "1876" (Jamaica), "1" (United States), "77"
	// (Kazakhstan), "7" (Russia), "44".
	Prefix string
}

// CountryOf finds the country of an E.164 number ("+18765550100") by the
// longest prefix of it in a table of the ITU-T E.164 country code
// assignments. Two codes are shared by several countries, and are told
// apart by the digits after them: +1, the North American Numbering Plan,
// by its three-digit area code (Canada's and the Caribbean's area codes
// map to their regions, every other one to "US"), and +7 by +76 and +77
// for Kazakhstan (the rest is Russia). Other shared codes map to the
// code's main region: +44 to GB (Guernsey, Jersey and the Isle of Man
// included), +262 to RE (Mayotte included), +590 to GP (Saint Barthélemy
// and Saint Martin included), +599 to CW (the Caribbean Netherlands
// included), +61 to AU, +672 to NF, +47 to NO, +358 to FI, +39 to IT.
//
// The error wraps ErrInvalidRecipient for a number not in E.164 form
// and ErrUnassignedCode for a calling code the ITU has not assigned.
//
// Sources: ITU-T Recommendation E.164, Complement "List of ITU-T
// Recommendation E.164 assigned country codes" (the Annex to ITU
// Operational Bulletin); NANPA's area code assignments for +1, Canadian
// area codes as the CNA lists them (including overlays announced up to
// 2025). The table changes rarely; a new NANP area code outside the
// United States would map to "US" until it is added.
func CountryOf(number string) (Country, error) {
	if !isE164(number) {
		return Country{}, fmt.Errorf("%w: %q is not a phone number in E.164 form, such as +14155550100", ErrInvalidRecipient, number)
	}
	digits := number[1:]
	for n := min(4, len(digits)); n >= 1; n-- {
		if region := regionOfPrefix(digits[:n]); region != "" {
			code := digits[:n]
			if code[0] == '1' || code[0] == '7' {
				code = code[:1] // +1 and +7 are shared codes
			}
			return Country{Region: region, CallingCode: code, Prefix: digits[:n]}, nil
		}
	}
	return Country{}, fmt.Errorf("%w: %q starts with no calling code the ITU has assigned", ErrUnassignedCode, number)
}

// KnownRegion reports whether region is a Region that CountryOf can
// return.
func KnownRegion(region string) bool {
	switch region {
	case "001", "AC", "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AR",
		"AS", "AT", "AU", "AW", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH",
		"BI", "BJ", "BM", "BN", "BO", "BR", "BS", "BT", "BW", "BY", "BZ", "CA",
		"CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU",
		"CV", "CW", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
		"EG", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB",
		"GD", "GE", "GF", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GT",
		"GU", "GW", "GY", "HK", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IN",
		"IO", "IQ", "IR", "IS", "IT", "JM", "JO", "JP", "KE", "KG", "KH", "KI",
		"KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK",
		"LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MG", "MH",
		"MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV",
		"MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO",
		"NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL",
		"PM", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
		"SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SK", "SL", "SM", "SN",
		"SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TG", "TH",
		"TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA",
		"UG", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF",
		"WS", "XK", "YE", "ZA", "ZM", "ZW":
		return true
	}
	return false
}

// regionOfPrefix is the table: E.164 calling codes, and for the shared
// codes +1 and +7 the longer prefixes that tell their countries apart.
// A switch keeps it immutable and compiles to a binary search.
func regionOfPrefix(prefix string) string {
	switch prefix {
	case "800", "808", "870", "878", "881", "882", "883", "888", "979":
		return "001"
	case "247":
		return "AC"
	case "376":
		return "AD"
	case "971":
		return "AE"
	case "93":
		return "AF"
	case "1268":
		return "AG"
	case "1264":
		return "AI"
	case "355":
		return "AL"
	case "374":
		return "AM"
	case "244":
		return "AO"
	case "54":
		return "AR"
	case "1684":
		return "AS"
	case "43":
		return "AT"
	case "61":
		return "AU"
	case "297":
		return "AW"
	case "994":
		return "AZ"
	case "387":
		return "BA"
	case "1246":
		return "BB"
	case "880":
		return "BD"
	case "32":
		return "BE"
	case "226":
		return "BF"
	case "359":
		return "BG"
	case "973":
		return "BH"
	case "257":
		return "BI"
	case "229":
		return "BJ"
	case "1441":
		return "BM"
	case "673":
		return "BN"
	case "591":
		return "BO"
	case "55":
		return "BR"
	case "1242":
		return "BS"
	case "975":
		return "BT"
	case "267":
		return "BW"
	case "375":
		return "BY"
	case "501":
		return "BZ"
	case "1204", "1226", "1236", "1249", "1250", "1257", "1263", "1289", "1306", "1343",
		"1354", "1365", "1367", "1368", "1382", "1403", "1416", "1418", "1428", "1431", "1437",
		"1438", "1450", "1468", "1474", "1506", "1514", "1519", "1548", "1579", "1581", "1584",
		"1587", "1600", "1604", "1613", "1639", "1647", "1672", "1683", "1705", "1709", "1742",
		"1753", "1778", "1780", "1782", "1807", "1819", "1825", "1867", "1873", "1879", "1902",
		"1905", "1942":
		return "CA"
	case "243":
		return "CD"
	case "236":
		return "CF"
	case "242":
		return "CG"
	case "41":
		return "CH"
	case "225":
		return "CI"
	case "682":
		return "CK"
	case "56":
		return "CL"
	case "237":
		return "CM"
	case "86":
		return "CN"
	case "57":
		return "CO"
	case "506":
		return "CR"
	case "53":
		return "CU"
	case "238":
		return "CV"
	case "599":
		return "CW"
	case "357":
		return "CY"
	case "420":
		return "CZ"
	case "49":
		return "DE"
	case "253":
		return "DJ"
	case "45":
		return "DK"
	case "1767":
		return "DM"
	case "1809", "1829", "1849":
		return "DO"
	case "213":
		return "DZ"
	case "593":
		return "EC"
	case "372":
		return "EE"
	case "20":
		return "EG"
	case "291":
		return "ER"
	case "34":
		return "ES"
	case "251":
		return "ET"
	case "358":
		return "FI"
	case "679":
		return "FJ"
	case "500":
		return "FK"
	case "691":
		return "FM"
	case "298":
		return "FO"
	case "33":
		return "FR"
	case "241":
		return "GA"
	case "44":
		return "GB"
	case "1473":
		return "GD"
	case "995":
		return "GE"
	case "594":
		return "GF"
	case "233":
		return "GH"
	case "350":
		return "GI"
	case "299":
		return "GL"
	case "220":
		return "GM"
	case "224":
		return "GN"
	case "590":
		return "GP"
	case "240":
		return "GQ"
	case "30":
		return "GR"
	case "502":
		return "GT"
	case "1671":
		return "GU"
	case "245":
		return "GW"
	case "592":
		return "GY"
	case "852":
		return "HK"
	case "504":
		return "HN"
	case "385":
		return "HR"
	case "509":
		return "HT"
	case "36":
		return "HU"
	case "62":
		return "ID"
	case "353":
		return "IE"
	case "972":
		return "IL"
	case "91":
		return "IN"
	case "246":
		return "IO"
	case "964":
		return "IQ"
	case "98":
		return "IR"
	case "354":
		return "IS"
	case "39":
		return "IT"
	case "1658", "1876":
		return "JM"
	case "962":
		return "JO"
	case "81":
		return "JP"
	case "254":
		return "KE"
	case "996":
		return "KG"
	case "855":
		return "KH"
	case "686":
		return "KI"
	case "269":
		return "KM"
	case "1869":
		return "KN"
	case "850":
		return "KP"
	case "82":
		return "KR"
	case "965":
		return "KW"
	case "1345":
		return "KY"
	case "76", "77":
		return "KZ"
	case "856":
		return "LA"
	case "961":
		return "LB"
	case "1758":
		return "LC"
	case "423":
		return "LI"
	case "94":
		return "LK"
	case "231":
		return "LR"
	case "266":
		return "LS"
	case "370":
		return "LT"
	case "352":
		return "LU"
	case "371":
		return "LV"
	case "218":
		return "LY"
	case "212":
		return "MA"
	case "377":
		return "MC"
	case "373":
		return "MD"
	case "382":
		return "ME"
	case "261":
		return "MG"
	case "692":
		return "MH"
	case "389":
		return "MK"
	case "223":
		return "ML"
	case "95":
		return "MM"
	case "976":
		return "MN"
	case "853":
		return "MO"
	case "1670":
		return "MP"
	case "596":
		return "MQ"
	case "222":
		return "MR"
	case "1664":
		return "MS"
	case "356":
		return "MT"
	case "230":
		return "MU"
	case "960":
		return "MV"
	case "265":
		return "MW"
	case "52":
		return "MX"
	case "60":
		return "MY"
	case "258":
		return "MZ"
	case "264":
		return "NA"
	case "687":
		return "NC"
	case "227":
		return "NE"
	case "672":
		return "NF"
	case "234":
		return "NG"
	case "505":
		return "NI"
	case "31":
		return "NL"
	case "47":
		return "NO"
	case "977":
		return "NP"
	case "674":
		return "NR"
	case "683":
		return "NU"
	case "64":
		return "NZ"
	case "968":
		return "OM"
	case "507":
		return "PA"
	case "51":
		return "PE"
	case "689":
		return "PF"
	case "675":
		return "PG"
	case "63":
		return "PH"
	case "92":
		return "PK"
	case "48":
		return "PL"
	case "508":
		return "PM"
	case "1787", "1939":
		return "PR"
	case "970":
		return "PS"
	case "351":
		return "PT"
	case "680":
		return "PW"
	case "595":
		return "PY"
	case "974":
		return "QA"
	case "262":
		return "RE"
	case "40":
		return "RO"
	case "381":
		return "RS"
	case "7":
		return "RU"
	case "250":
		return "RW"
	case "966":
		return "SA"
	case "677":
		return "SB"
	case "248":
		return "SC"
	case "249":
		return "SD"
	case "46":
		return "SE"
	case "65":
		return "SG"
	case "290":
		return "SH"
	case "386":
		return "SI"
	case "421":
		return "SK"
	case "232":
		return "SL"
	case "378":
		return "SM"
	case "221":
		return "SN"
	case "252":
		return "SO"
	case "597":
		return "SR"
	case "211":
		return "SS"
	case "239":
		return "ST"
	case "503":
		return "SV"
	case "1721":
		return "SX"
	case "963":
		return "SY"
	case "268":
		return "SZ"
	case "1649":
		return "TC"
	case "235":
		return "TD"
	case "228":
		return "TG"
	case "66":
		return "TH"
	case "992":
		return "TJ"
	case "690":
		return "TK"
	case "670":
		return "TL"
	case "993":
		return "TM"
	case "216":
		return "TN"
	case "676":
		return "TO"
	case "90":
		return "TR"
	case "1868":
		return "TT"
	case "688":
		return "TV"
	case "886":
		return "TW"
	case "255":
		return "TZ"
	case "380":
		return "UA"
	case "256":
		return "UG"
	case "1":
		return "US"
	case "598":
		return "UY"
	case "998":
		return "UZ"
	case "379":
		return "VA"
	case "1784":
		return "VC"
	case "58":
		return "VE"
	case "1284":
		return "VG"
	case "1340":
		return "VI"
	case "84":
		return "VN"
	case "678":
		return "VU"
	case "681":
		return "WF"
	case "685":
		return "WS"
	case "383":
		return "XK"
	case "967":
		return "YE"
	case "27":
		return "ZA"
	case "260":
		return "ZM"
	case "263":
		return "ZW"
	}
	return ""
}
