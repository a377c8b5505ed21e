"""Sessions: the replicated table (id -> timeout) and the leader's expiry wheel.

Session ids follow SessionTrackerImpl.initializeNextSessionId:
``((now_ms << 24) >>> 8) | (server_id << 56)``, then +1 per session, skipping
0x8000000000000000 (the container marker). Passwords are 16 bytes derived from
(session id, secret) with SHA-256, so every member with the same secret agrees.
Expiry: a touch sets expiry to the next tick boundary after ``now + timeout``
(ExpiryQueue.roundToNextInterval); a session is due once ``now >= expiry``.
"""

from __future__ import annotations

import hashlib

MASK64 = (1 << 64) - 1
CONTAINER_SID = -0x8000000000000000


def to_signed64(v: int) -> int:
    v &= MASK64
    return v - (1 << 64) if v >= (1 << 63) else v


def initial_session_id(now_ms: int, server_id: int) -> int:
    sid = (((now_ms << 24) & MASK64) >> 8) | ((server_id & 0xFF) << 56)
    sid = to_signed64(sid)
    if sid == CONTAINER_SID:
        sid += 1
    return sid


def session_password(session_id: int, secret: int) -> bytes:
    seed = f"zkpy-session:{session_id & MASK64:016x}:{secret}".encode()
    return hashlib.sha256(seed).digest()[:16]


class Session:
    __slots__ = ("sid", "timeout", "expiry", "closing")

    def __init__(self, sid: int, timeout: int, expiry: int) -> None:
        self.sid = sid
        self.timeout = timeout
        self.expiry = expiry
        self.closing = False


class SessionTracker:
    def __init__(self, server_id: int, tick_ms: int, secret: int) -> None:
        self.server_id = server_id
        self.tick_ms = max(1, tick_ms)
        self.secret = secret
        self.sessions: dict[int, Session] = {}
        self.buckets: dict[int, set[int]] = {}
        self.next_sid: int | None = None

    def round_up(self, t: int) -> int:
        tick = self.tick_ms
        return (t // tick + 1) * tick

    def allocate(self, now_ms: int) -> int:
        if self.next_sid is None:
            self.next_sid = initial_session_id(now_ms, self.server_id)
        sid = self.next_sid
        nxt = to_signed64(sid + 1)
        if nxt == CONTAINER_SID:
            nxt += 1
        self.next_sid = nxt
        return sid

    def note_applied(self, sid: int) -> None:
        """A CREATE_SESSION was applied (maybe replayed from the log): never hand out
        this id again if it is one of ours (same server byte)."""
        if ((sid >> 56) & 0xFF) != (self.server_id & 0xFF):
            return
        if self.next_sid is None or sid >= self.next_sid:
            nxt = to_signed64(sid + 1)
            if nxt == CONTAINER_SID:
                nxt += 1
            self.next_sid = nxt

    def password(self, sid: int) -> bytes:
        return session_password(sid, self.secret)

    def add(self, sid: int, timeout: int, now_ms: int) -> None:
        old = self.sessions.get(sid)
        if old is not None:
            self._unbucket(old)
        s = Session(sid, timeout, self.round_up(now_ms + timeout))
        self.sessions[sid] = s
        self.buckets.setdefault(s.expiry, set()).add(sid)

    def remove(self, sid: int) -> Session | None:
        s = self.sessions.pop(sid, None)
        if s is not None:
            self._unbucket(s)
        return s

    def _unbucket(self, s: Session) -> None:
        b = self.buckets.get(s.expiry)
        if b is not None:
            b.discard(s.sid)
            if not b:
                del self.buckets[s.expiry]

    def alive(self, sid: int) -> bool:
        s = self.sessions.get(sid)
        return s is not None and not s.closing

    def touch(self, sid: int, now_ms: int) -> bool:
        s = self.sessions.get(sid)
        if s is None or s.closing:
            return False
        exp = self.round_up(now_ms + s.timeout)
        if exp != s.expiry:
            self._unbucket(s)
            s.expiry = exp
            self.buckets.setdefault(exp, set()).add(sid)
        return True

    def set_closing(self, sid: int) -> None:
        s = self.sessions.get(sid)
        if s is not None:
            s.closing = True
            self._unbucket(s)

    def expired(self, now_ms: int) -> list[int]:
        due = sorted(t for t in self.buckets if t <= now_ms)
        out: list[int] = []
        for t in due:
            for sid in sorted(self.buckets.pop(t)):
                s = self.sessions.get(sid)
                if s is not None and not s.closing:
                    s.closing = True
                    out.append(sid)
        return out
