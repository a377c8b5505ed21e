"""Differential test: the same script through the real Java zkCli (against Apache
ZooKeeper 3.8) and through zkpy shell (against Apache ZooKeeper, then against zkpy):
stdout and stderr must match once zkCli's banner/log noise and our Hint lines are
removed and run-dependent values (zxids, dates, session ids, our unique path) masked.

One zkCli JVM runs the whole script. Commands where zkpy shell deliberately differs
(relative paths, one-line ACL errors, "Not connected" on stderr with status 3, version,
commons-cli exception class names) are tested in test_batch.py instead.
"""

from __future__ import annotations

import difflib
import uuid

import pytest

from tests.shell.support import (
    live_server,
    mask,
    run_shell,
    run_zkcli,
    strip_hints,
    strip_zkcli_noise,
)

pytestmark = pytest.mark.interop

# {P} is replaced by a unique top-level path per run.
SCRIPT = """\
create {P} top
create {P}/a hello
create {P}/a/b
create {P}/a/c "two words"
create -s {P}/a/s- x
create -s {P}/a/s- y
create -e {P}/eph e
create -c {P}/cont
create {P}/cont/child
create {P}/a already
create {P}/nope/x
create -c -e {P}/bad
get {P}/a
get {P}/a/b
get -s {P}/a
get {P}/missing
get {P}/a/
ls {P}
ls {P}/a
ls -s {P}/a
ls -R {P}
ls {P}/missing
stat {P}/a/c
stat {P}/missing
set {P}/a/c new
set -s {P}/a/c newer
set {P}/a/c again -v 1
set -v 7 {P}/a/c wrong
get -s {P}/a/c
getAcl {P}/a
getAcl -s {P}/a/b
setAcl {P}/a/b world:anyone:rw
getAcl {P}/a/b
setAcl -s {P}/a/b world:anyone:cdrwa
setAcl -v 9 {P}/a/b world:anyone:r
getAllChildrenNumber {P}
getAllChildrenNumber {P}/a
getEphemerals {P}
sync {P}/a
whoami
delete {P}/a
delete {P}/missing
delete -v 9 {P}/a/b
delete -v 1 {P}/a/b
delete {P}/a/b
deleteall {P}/a -b x
deleteall {P}/a
ls {P}
addWatch {P}/w
addWatch -m PERSISTENT {P}/w2
addWatch -m nonsense {P}/w
removewatches {P}/nowatch
printwatches
printwatches off
printwatches
printwatches on
setquota -n 5 {P}/cont
listquota {P}/cont
setquota -B 100 {P}/cont
listquota {P}/cont
delquota -n {P}/cont
listquota {P}/cont
delquota {P}/cont
listquota {P}/cont
delquota {P}/cont
setquota -n 0 {P}/cont
setquota -n 3 {P}/missing
config -c
addauth digest alice:secret
create {P}/mine x auth::cdrwa
getAcl {P}/mine
whoami
frobnicate {P}
history
redo 999
"""


@pytest.mark.parametrize("kind", ["zookeeper", "zkpy"])
def test_same_output_as_zkcli(request: pytest.FixtureRequest, kind: str) -> None:
    oracle = request.getfixturevalue("apache_zk")
    server = live_server(request, kind)
    p_java = f"/zkcli-{uuid.uuid4().hex[:10]}"
    p_ours = f"/zkpy-{uuid.uuid4().hex[:10]}"
    java_out, java_err, _ = run_zkcli(oracle.hosts, SCRIPT.format(P=p_java))
    ours = run_shell(["-server", server.hosts, "--keep-going"],
                     stdin=SCRIPT.format(P=p_ours))
    expected_out = mask(strip_zkcli_noise(java_out), p_java)
    expected_err = mask(strip_zkcli_noise(java_err), p_java)
    got_out = mask(ours.stdout.decode(), p_ours)
    got_err = mask(strip_hints(ours.stderr.decode()), p_ours)
    assert "Traceback" not in got_err
    assert got_out == expected_out, "stdout differs from zkCli's:\n" + "".join(
        difflib.unified_diff(expected_out.splitlines(True), got_out.splitlines(True),
                             "zkCli", "zkpy shell"))
    assert got_err == expected_err, "stderr differs from zkCli's:\n" + "".join(
        difflib.unified_diff(expected_err.splitlines(True), got_err.splitlines(True),
                             "zkCli", "zkpy shell"))
    # --keep-going: the status is the first failure's (create of an existing node)
    assert ours.returncode == 1
