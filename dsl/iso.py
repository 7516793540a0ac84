"""ISO 4217 currencies (with their minor units) and ISO 3166-1 alpha-2 countries.

Static reference data, immutable.  Money is rounded to the currency's minor
unit; a claim's country codes must be real ones (`GB`, not `UK`).
"""
from __future__ import annotations

_CURRENCIES_2 = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD
CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD
MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP
PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS
TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWG
"""
_CURRENCIES_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_CURRENCIES_3 = "BHD IQD JOD KWD LYD OMR TND"

MINOR_UNITS: dict[str, int] = {
    **{code: 2 for code in _CURRENCIES_2.split()},
    **{code: 0 for code in _CURRENCIES_0.split()},
    **{code: 3 for code in _CURRENCIES_3.split()},
}

COUNTRIES: frozenset[str] = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
ZW
""".split())

# Codes people write that are not ISO 3166-1 alpha-2, with the code they mean.
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}

# The currency each country uses, for the lint that checks excess tables
# (only the countries whose tables products are likely to list).
COUNTRY_CURRENCY = {
    "AT": "EUR", "BE": "EUR", "BG": "BGN", "HR": "EUR", "CY": "EUR", "CZ": "CZK", "DK": "DKK",
    "EE": "EUR", "FI": "EUR", "FR": "EUR", "DE": "EUR", "GR": "EUR", "HU": "HUF", "IE": "EUR",
    "IT": "EUR", "LV": "EUR", "LT": "EUR", "LU": "EUR", "MT": "EUR", "NL": "EUR", "PL": "PLN",
    "PT": "EUR", "RO": "RON", "SK": "EUR", "SI": "EUR", "ES": "EUR", "SE": "SEK", "NO": "NOK",
    "IS": "ISK", "LI": "CHF", "CH": "CHF", "GB": "GBP", "CN": "CNY", "US": "USD",
}
