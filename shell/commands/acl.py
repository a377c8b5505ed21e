"""ACL and authentication commands: getAcl setAcl addauth whoami."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zkpy.errors import ZkError
from zkpy.proto.records import ACL, Id

from .. import render
from ..errors import ExitCode, UsageError
from ..parser import Flag
from . import Invocation, command

if TYPE_CHECKING:
    from ..context import Shell


def parse_acl(text: str) -> list[Any]:
    """zkCli's AclParser: comma list of ``scheme:id:perms`` split at the first and last
    ``:`` (so digest ids may contain colons). Any malformed entry is a usage error."""
    acls = []
    for entry in text.split(","):
        first, last = entry.find(":"), entry.rfind(":")
        if first < 0 or first == last:
            raise UsageError(f"{entry} does not have the form scheme:id:perm",
                             hint="e.g. world:anyone:cdrwa or digest:user:hash:rw")
        try:
            perms = render.parse_perms(entry[last + 1:])
        except ValueError as e:
            raise UsageError(str(e), hint="perms are letters from rwcda") from None
        acls.append(ACL(perms, Id(entry[:first], entry[first + 1:last])))
    if not acls:
        raise UsageError("Acl is not valid : null")
    return acls


@command("getAcl", group="acl", summary="print the ACL of a znode", usage="getAcl [-s] path",
         flags=(Flag("s", "print the znode's stat after the ACL"),), args=("path",),
         min_args=1, max_args=1, path_args=(0,),
         examples=("getAcl /app", "getAcl --format json /app"),
         details="Two lines per entry: 'scheme,'id then : perms (letters in the order cdrwa).")
async def get_acl(sh: Shell, inv: Invocation) -> int:
    path = sh.resolve(inv.pos[0])
    acls, stat = await sh.client.get_acl(path)
    if sh.fmt == "json":
        doc: dict[str, Any] = {"path": path, "acl": render.acl_dicts(acls)}
        if inv.args.has("s"):
            doc["stat"] = render.stat_dict(stat)
        sh.out.text(render.to_json(doc))
        return ExitCode.OK
    sh.out.text(render.acl_lines(acls))
    if inv.args.has("s"):
        sh.out.text(render.stat_block(stat))
    return ExitCode.OK


@command("setAcl", group="acl", summary="replace the ACL of a znode (or a whole subtree)",
         usage="setAcl [-s] [-v version] [-R] path acl",
         flags=(Flag("s", "print the znode's stat afterwards"),
                Flag("v", "only if the ACL version matches", "version"),
                Flag("R", "apply to every node of the subtree")),
         args=("path", "acl"), min_args=2, max_args=2, path_args=(0,),
         examples=("setAcl /app world:anyone:r", "setAcl -R /app digest:bob:hash:cdrwa,world:anyone:r",
                   "setAcl /app auth::cdrwa"),
         details="acl is a comma list of scheme:id:perms with perms from rwcda. -R asks for "
                 "confirmation on a terminal.")
async def set_acl(sh: Shell, inv: Invocation) -> int:
    from .nodes import confirm, int_option, subtree

    path = sh.resolve(inv.pos[0])
    acls = parse_acl(inv.pos[1])
    version = int_option(inv, "v", "the expected ACL version")
    client = sh.client
    if inv.args.has("R"):
        if sh.interactive and not await confirm(sh, f"Set this ACL on every node under {path}?"):
            return ExitCode.USAGE
        worst = ExitCode.OK
        for p in await subtree(client, path):
            try:
                await client.set_acl(p, acls, -1)
            except ZkError as e:
                from ..errors import describe_zk_error
                f = describe_zk_error(e, p)
                sh.out.error(f.message)
                worst = max(worst, f.exit_code)
        return worst
    stat = await client.set_acl(path, acls, version if version is not None else -1)
    if inv.args.has("s"):
        sh.out.text(render.stat_block(stat))
    return ExitCode.OK


@command("addauth", group="acl", summary="add credentials to this session",
         usage="addauth scheme auth", args=("scheme", "auth"), min_args=2, max_args=2,
         examples=("addauth digest bob:secret",),
         details="The server checks them; a rejected scheme ends the session (AuthFailed).")
async def addauth(sh: Shell, inv: Invocation) -> int:
    await sh.client.add_auth(inv.pos[0], inv.pos[1].encode("utf-8"))
    return ExitCode.OK


@command("whoami", group="acl", summary="print the identities of this session",
         usage="whoami ", min_args=0, max_args=0, examples=("whoami",))
async def whoami(sh: Shell, inv: Invocation) -> int:
    ids = await sh.client.whoami()
    if sh.fmt == "json":
        sh.out.text(render.to_json([{"scheme": s, "user": u} for s, u in ids]))
        return ExitCode.OK
    sh.out.line("Auth scheme: User")
    for scheme, user in ids:
        sh.out.line(f"{scheme}: {user}")
    return ExitCode.OK
