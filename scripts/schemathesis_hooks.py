"""Rules across parameters that JSON Schema cannot state, taught to schemathesis so that the
requests it means to be valid are: a date range runs forwards (`from` not after `to`), and the
volunteers' daily table spans at most 366 days (ending today when `to` is absent). The server refuses other ranges with a 400, as
the OpenAPI document says in those parameters' descriptions. Loaded by scripts/schemathesis.sh.
"""

import re

import schemathesis

# The longest range GET /api/v1/volunteers/daily answers, in days, both ends counted.
VOLUNTEER_DAYS_MAX = 366

DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def _days(value):
    """Days since 1970-01-01 of a `YYYY-MM-DD` (white space around it allowed), or None. Years
    0000 to 9999 of the proleptic Gregorian calendar, as the server reads them (Python's own
    dates start at year 1)."""
    if not isinstance(value, str):
        return None
    match = DAY.fullmatch(value.strip())
    if match is None:
        return None
    y, m, d = (int(g) for g in match.groups())
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _civil(days):
    """The `YYYY-MM-DD` of a day number (the inverse of `_days`)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (m <= 2)
    return f"{y:04d}-{m:02d}-{d:02d}"


@schemathesis.hook
def map_query(context, query):
    if not query:
        return query
    first, last = _days(query.get("from")), _days(query.get("to"))
    operation = getattr(context, "operation", None)
    volunteers = getattr(operation, "path", "") == "/api/v1/volunteers/daily"
    if volunteers and first is not None and "to" not in query:
        # Without `to` the table ends today, which a `from` drawn at random rarely suits.
        query["to"] = _civil(first)
        last = first
    if first is None or last is None:
        return query
    if first > last:
        query["from"], query["to"] = query["to"], query["from"]
        first, last = last, first
    if volunteers and last - first >= VOLUNTEER_DAYS_MAX:
        query["from"] = _civil(last - (VOLUNTEER_DAYS_MAX - 1))
    return query
