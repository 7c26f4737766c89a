"""Rules across parameters that JSON Schema cannot state, taught to schemathesis so that the
requests it means to be valid are:

- a date range runs forwards (`from` not after `to`, which is today when absent for the progress
  curve and the volunteers' daily table), and the volunteers' daily table spans at most 366 days. The server refuses other ranges with a 400, as
  the OpenAPI document says in those parameters' descriptions;
- in the phone's run, what a phone sends is what a phone can send: a push names the phone's own
  device (another answers 403 `wrong_device`), and its records, venue visits and photo records are
  ones the domain's rules accept (a UUIDv7 id, the next sequence number, an area of the phone's,
  an outcome of the campaign with counts that agree, a time of now). JSON Schema cannot say
  those things, so the records it generates are refused one by one (422). With these, a valid push
  must be answered 2xx: scripts/schemathesis.toml expects nothing else of the phone's writes, so a
  server that refused valid records would fail the run. Only the cases schemathesis means to be
  valid are changed; those it means to be invalid are sent as generated.

Loaded by scripts/schemathesis.sh, which names the phone (`DOORSTEP_ST_DEVICE_ID`,
`DOORSTEP_ST_VOLUNTEER_ID`, `DOORSTEP_ST_AREA`) for the phone's run only.
"""

import datetime
import itertools
import os
import re
import time
import uuid

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
    path = getattr(operation, "path", "")
    volunteers = path == "/api/v1/volunteers/daily"
    ends_today = volunteers or path == "/api/v1/progress"
    if ends_today and first is not None and "to" not in query:
        # Without `to` the table (or curve) ends today, which a `from` drawn at random rarely
        # suits: a `from` after today is refused (400 `bad_range`), as the document says.
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


# The phone of the phone's run (unset in the others, where these hooks change nothing).
DEVICE_ID = os.environ.get("DOORSTEP_ST_DEVICE_ID")
VOLUNTEER_ID = os.environ.get("DOORSTEP_ST_VOLUNTEER_ID")
AREA = os.environ.get("DOORSTEP_ST_AREA")

# The phone's sequence numbers, shared by its visits and venue visits, from 1 up as a phone's are.
SEQUENCE = itertools.count(1)

# Vietnam's offset: a phone sends its local time with it.
LOCAL = datetime.timezone(datetime.timedelta(hours=7))

# Outcomes of the default campaign (data/campaigns/bluezone-2020.json) with counts its rules
# accept: (outcome, people, smartphones, already installed, installed now, reason).
OUTCOMES = [
    ("installed_now", 4, 2, 0, 1, None),
    ("already_installed", 3, 2, 2, 0, None),
    ("not_home", 0, 0, 0, 0, None),
    ("refused", 2, 1, 0, 0, "Không muốn cài"),
    ("no_smartphone", 2, 0, 0, 0, None),
]


def _uuid7():
    """A UUIDv7 (RFC 9562: 48 bits of Unix milliseconds, then random bits), as phones make ids."""
    ms = int(time.time() * 1000)
    r = os.urandom(10)
    raw = ms.to_bytes(6, "big") + bytes([0x70 | (r[0] & 0x0F), r[1], 0x80 | (r[2] & 0x3F)]) + r[3:]
    return str(uuid.UUID(bytes=raw))


def _now():
    return datetime.datetime.now(LOCAL).isoformat(timespec="milliseconds")


def _no_location():
    return {"source": "none", "lat": None, "lon": None, "accuracy_m": None}


def _visit(n):
    outcome, people, smartphones, already, installed, reason = OUTCOMES[n % len(OUTCOMES)]
    record = {
        "id": _uuid7(),
        "revision": 1,
        "device_seq": next(SEQUENCE),
        "device_id": DEVICE_ID,
        "volunteer_id": VOLUNTEER_ID,
        "area_code": AREA,
        "household": {"id": _uuid7(), "address": f"Số {n + 1} Phan Đình Phùng"},
        "visited_at": _now(),
        "outcome": outcome,
        "people": people,
        "smartphones": smartphones,
        "already_installed": already,
        "installed_now": installed,
        "leaflet_given": True,
        "location": _no_location(),
    }
    if reason is not None:
        record["reason"] = reason
    return record


def _venue_visit(n):
    return {
        "id": _uuid7(),
        "revision": 1,
        "device_seq": next(SEQUENCE),
        "device_id": DEVICE_ID,
        "volunteer_id": VOLUNTEER_ID,
        "area_code": AREA,
        "venue": {"id": _uuid7(), "kind": "school", "name": f"Trường Tiểu học số {n + 1}"},
        "visited_at": _now(),
        "people_reached": 40,
        "smartphones": 20,
        "already_installed": 5,
        "installed_now": 3,
        "notices_posted": 1,
        "location": _no_location(),
    }


def _positive(case):
    meta = getattr(case, "meta", None)
    return DEVICE_ID is not None and meta is not None and meta.generation.mode.is_positive


def _batch(case, record):
    """The phone's own batch, as many records as generated (at most 5: a batch's size is not what
    is tested here; the 5,000 limit has its own tests)."""
    generated = case.body.get("records") if isinstance(case.body, dict) else None
    count = min(len(generated), 5) if isinstance(generated, list) else 1
    case.body = {
        "device_id": DEVICE_ID,
        "sent_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "records": [record(n) for n in range(count)],
    }
    return case


@schemathesis.hook("map_case").apply_to(method="POST", path="/api/v1/sync/push")
def phone_pushes_its_own_visits(context, case):
    return _batch(case, _visit) if _positive(case) else case


@schemathesis.hook("map_case").apply_to(method="POST", path="/api/v1/sync/venues")
def phone_pushes_its_own_venue_visits(context, case):
    return _batch(case, _venue_visit) if _positive(case) else case


@schemathesis.hook("map_case").apply_to(method="POST", path="/api/v1/photos")
def phone_registers_its_own_photo(context, case):
    if not _positive(case):
        return case
    now = datetime.datetime.now(LOCAL)
    case.body = {
        "id": _uuid7(),
        "sha256": os.urandom(32).hex(),
        "size": 1 + int.from_bytes(os.urandom(2), "big"),
        "content_type": "image/jpeg",
        "target_kind": "day",
        "target_id": now.date().isoformat(),
        "area_code": AREA,
        "caption": "Báo cáo trong ngày",
        "taken_at": now.isoformat(timespec="seconds"),
    }
    return case
