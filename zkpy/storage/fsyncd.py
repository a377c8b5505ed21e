"""The txn log's fsync helper: a tiny process that fdatasyncs log segments on request.

Why a process and not a thread: a Python thread needs the GIL after every fdatasync and
every wake-up, and under write load each of those hand-offs stalls the event loop (the
loop thread has to give the GIL up and be scheduled back). A separate process has its
own interpreter, so the loop only pays a message and a readable event per batch. See
committer.ProcessCommitter, which starts it as ``python -I -S fsyncd.py FD``.

Protocol on FD, its end of an AF_UNIX SOCK_SEQPACKET socketpair:

* the helper first sends ``seq 0`` (ready);
* request: an 8-byte big-endian sequence number, with the segment's descriptor attached
  (SCM_RIGHTS) whenever the log moved to a new segment;
* reply: the request's sequence number + a 4-byte errno (0: every record written before
  that request is on disk). On a new descriptor the previous segment is synced first,
  so a reply always covers every earlier segment too. The server keeps one request
  outstanding (one more per new segment), so requests are simply answered in turn.

It exits when the server's end closes (the server stopped or died), after a failed
fdatasync (the server then refuses all writes), and ignores SIGINT/SIGTERM/SIGHUP: a
Ctrl-C or a group signal must stop the server, which then closes the socket, not
leave the server without its fsync. It runs under SCHED_BATCH (see main). Only built-in
modules are imported, so it starts fast and stays small.
"""

import _signal
import _socket
import os
import sys

_FD_SPACE = _socket.CMSG_SPACE(4)


def _reply(sock: _socket.socket, seq: bytes, err: int) -> None:
    sock.send(seq + err.to_bytes(4, "big"))


def _receive(sock: _socket.socket) -> tuple[bytes, int] | None:
    """(seq, new descriptor or -1), or None at end of stream."""
    data, anc, _, _ = sock.recvmsg(8, _FD_SPACE)
    if not data:
        return None
    new_fd = -1
    for level, kind, payload in anc:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(payload) >= 4:
            new_fd = int.from_bytes(payload[:4], sys.byteorder, signed=True)
    return data, new_fd


def _sync(fd: int) -> int:
    try:
        os.fdatasync(fd)
    except OSError as e:
        return e.errno or 5  # EIO
    return 0


def serve(sock: _socket.socket) -> None:
    fd = -1
    _reply(sock, bytes(8), 0)
    while True:
        try:
            msg = _receive(sock)
        except OSError:
            return
        if msg is None:
            return
        seq, new_fd = msg
        err = 0
        if new_fd >= 0:
            if fd >= 0:
                err = _sync(fd)
                os.close(fd)
            fd = new_fd
        if fd >= 0:
            err = err or _sync(fd)
        try:
            _reply(sock, seq, err)
        except OSError:
            return
        if err:
            return


def main() -> None:
    for sig in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP):
        _signal.signal(sig, _signal.SIG_IGN)
    # SCHED_BATCH: its wake-ups (one per request) do not preempt the event loop that sent
    # the request; the scheduler runs it on an idle CPU or at the loop's next switch.
    # With it, set 8x32 did 4-5 % more writes/s (two alternated 8-round A/Bs), 2x1 the
    # same. Linux only; where it is refused, the helper runs as it is.
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass
    serve(_socket.socket(fileno=int(sys.argv[1])))


if __name__ == "__main__":
    main()
