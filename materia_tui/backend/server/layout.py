"""The Redis layout of docs/PROTOCOL.md section 6 and the one way an event is stamped.

Shared by the publishers (``materia_tui.backend.publish``) and the server's buses, so
that an event gets exactly the same ``seq``/``campaign_id``/``timestamp``
treatment whether it is published from a worker, the ``publish`` command or
the server's HTTP endpoint. No I/O and no third-party imports here.

Stamping is split in two: :func:`event_body` (Python) sets ``campaign_id``
and ``timestamp`` and serializes the event without ``seq``; the Lua script
then INCRs the counter and splices ``"seq":N`` in front of the body's first
field. Splicing a string (rather than decoding and re-encoding JSON in Lua
with cjson) keeps every number exactly as Python wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from materia_tui.protocol import Campaign, Rejected, is_valid_campaign_id, parse_campaign, parse_object

CAMPAIGNS_KEY = "campaigns"
CHANNEL_PATTERN = "campaign:*"
_CHANNEL_PREFIX = "campaign:"


def meta_key(campaign_id: str) -> str:
    return f"campaign:{campaign_id}:meta"


def seq_key(campaign_id: str) -> str:
    return f"campaign:{campaign_id}:seq"


def events_key(campaign_id: str) -> str:
    return f"campaign:{campaign_id}:events"


def channel(campaign_id: str) -> str:
    return f"{_CHANNEL_PREFIX}{campaign_id}"


def campaign_id_of_channel(name: str) -> str | None:
    """The campaign id of a Pub/Sub channel name, or None when it is not one of ours."""
    if not name.startswith(_CHANNEL_PREFIX):
        return None
    campaign_id = name[len(_CHANNEL_PREFIX) :]
    return campaign_id if is_valid_campaign_id(campaign_id) else None


# KEYS: seq, events, meta, campaigns.  ARGV: channel, campaign id, minimal meta JSON, body...
# Returns the seqs assigned, in order. Creating a minimal meta (and SADD) when a
# campaign has none makes a campaign visible to servers as soon as it publishes.
PUBLISH_LUA = """
if redis.call('SETNX', KEYS[3], ARGV[3]) == 1 then
  redis.call('SADD', KEYS[4], ARGV[2])
end
local seqs = {}
for i = 4, #ARGV do
  local seq = redis.call('INCR', KEYS[1])
  local frame = '{"seq":' .. string.format('%d', seq) .. ',' .. string.sub(ARGV[i], 2)
  redis.call('RPUSH', KEYS[2], frame)
  redis.call('PUBLISH', ARGV[1], frame)
  seqs[#seqs + 1] = seq
end
return seqs
"""


def publish_script_call(campaign_id: str, bodies: Sequence[str]) -> tuple[list[str], list[str]]:
    """The KEYS and ARGV of one ``PUBLISH_LUA`` call that appends ``bodies`` in order."""
    keys = [seq_key(campaign_id), events_key(campaign_id), meta_key(campaign_id), CAMPAIGNS_KEY]
    args = [channel(campaign_id), campaign_id, minimal_meta(campaign_id), *bodies]
    return keys, args


# KEYS: events, seq.  ARGV: after_seq (a list index), limit, byte budget, chunk size.
# Returns {last seq, list length, frame...}: frames from index after_seq on, at most
# `limit` of them, stopping before the one that would take the page past the byte
# budget (the first frame always goes). Reads in small LRANGE chunks, so a page costs
# the rows it returns plus at most one chunk, never the history; nothing over the
# budget leaves Redis.
HISTORY_LUA = """
local last = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local length = redis.call('LLEN', KEYS[1])
local out = {last, length}
local start = tonumber(ARGV[1])
local stop = math.min(start + tonumber(ARGV[2]), length) - 1
local budget = tonumber(ARGV[3])
local chunk = tonumber(ARGV[4])
local total = 0
local i = start
while i <= stop do
  local frames = redis.call('LRANGE', KEYS[1], i, math.min(i + chunk - 1, stop))
  if #frames == 0 then break end
  for _, frame in ipairs(frames) do
    if #out > 2 and total + #frame > budget then return out end
    out[#out + 1] = frame
    total = total + #frame
  end
  i = i + chunk
end
return out
"""


class InvalidEvent(ValueError):
    """An event a publisher refuses to publish (one plain sentence, no payload)."""


class InvalidCampaign(ValueError):
    """Campaign metadata a publisher refuses to store."""


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_campaign_id(campaign_id: str) -> str:
    if not isinstance(campaign_id, str) or not is_valid_campaign_id(campaign_id):
        raise InvalidCampaign("campaign ids are 1-128 characters of [A-Za-z0-9._-], starting alphanumeric")
    return campaign_id


def event_body(campaign_id: str, event: Any, *, now: str | None = None) -> str:
    """The event's JSON without ``seq``, with ``campaign_id`` and ``timestamp`` set.

    Accepts a protocol model or a dict. A dict must validate as a known event
    (an unknown ``type`` is let through for forward compatibility); NaN and
    Infinity are refused because strict consumers would reject the event.
    """
    if hasattr(event, "model_dump"):
        obj: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)
    elif isinstance(event, dict):
        obj = dict(event)
    else:
        raise InvalidEvent(f"an event is a JSON object, not {type(event).__name__}")
    obj.pop("seq", None)  # the publisher's own seq always wins
    obj["campaign_id"] = campaign_id
    if not isinstance(obj.get("timestamp"), str):
        obj["timestamp"] = now or utc_now_iso()
    checked = parse_object(obj)
    if isinstance(checked, Rejected) and checked.kind != "unknown_type":
        raise InvalidEvent(checked.reason)
    if not isinstance(obj.get("type"), str):
        raise InvalidEvent("an event needs a string 'type'")
    try:
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise InvalidEvent("events may not contain NaN or Infinity") from exc
    except TypeError as exc:
        raise InvalidEvent(f"event is not JSON-serializable ({exc})") from exc
    return body


def stamp(body: str, seq: int) -> str:
    """What the Lua script does to a body, for the in-memory bus."""
    return f'{{"seq":{seq},{body[1:]}'


def campaign_json(campaign: Campaign | dict[str, Any]) -> tuple[str, str]:
    """(campaign id, metadata JSON) for ``campaign:{id}:meta``; unknown fields are kept."""
    if isinstance(campaign, Campaign):
        obj: dict[str, Any] = campaign.model_dump(mode="json", exclude_none=True)
    else:
        obj = dict(campaign)
    campaign_id = check_campaign_id(obj.get("id"))  # type: ignore[arg-type]
    if parse_campaign(obj) is None:
        raise InvalidCampaign("campaign metadata is not a Campaign object (docs/PROTOCOL.md section 5)")
    try:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError) as exc:
        raise InvalidCampaign(f"campaign metadata is not plain JSON ({exc})") from exc
    return campaign_id, text


def minimal_meta(campaign_id: str) -> str:
    """Metadata created for a campaign that publishes before anyone set it."""
    return json.dumps({"id": campaign_id, "status": "running"})


STATUS_TIMESTAMPS = {"running": "started_at", "completed": "finished_at", "failed": "finished_at",
                     "cancelled": "finished_at"}


def with_status(meta_text: str | None, campaign_id: str, status: str) -> str:
    """Metadata JSON with ``status`` replaced (and started_at/finished_at filled once)."""
    if status not in ("pending", "running", "completed", "failed", "cancelled"):
        raise InvalidCampaign(f"unknown campaign status {status!r}")
    try:
        obj = json.loads(meta_text) if meta_text else {}
    except ValueError:
        obj = {}
    if not isinstance(obj, dict):
        obj = {}
    obj["id"] = campaign_id
    obj["status"] = status
    stamp_field = STATUS_TIMESTAMPS.get(status)
    if stamp_field and not obj.get(stamp_field):
        obj[stamp_field] = utc_now_iso()
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
