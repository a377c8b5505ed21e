"""Znode commands: ls get set create delete deleteall stat sync getEphemerals
getAllChildrenNumber (zkCli), and cd pwd tree find (beyond zkCli)."""

from __future__ import annotations

import fnmatch
from collections import deque
from typing import TYPE_CHECKING, Any

from zkpy.errors import NoNodeError, ZkError
from zkpy.proto.opcodes import TTL_MAX_MS

from .. import render
from ..errors import ExitCode, ShellError, UsageError
from ..parser import Flag
from . import Invocation, command
from .acl import parse_acl

if TYPE_CHECKING:
    from ..context import Shell

F_STAT = Flag("s", "print the znode's stat after the output")
F_WATCH = Flag("w", "leave a watch (events print when they fire)")


def watch_arg(sh: Shell, inv: Invocation) -> bool | None:
    return True if inv.args.has("w") else None


def int_option(inv: Invocation, name: str, what: str, *, long: bool = False) -> int | None:
    raw = inv.args.value(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"-{name} argument must be {'a long' if long else 'an int'} value",
                         hint=f"{what} is a number, e.g. -{name} 3") from None
    limit = 2**63 if long else 2**31
    if not -limit <= value < limit:
        raise UsageError(f"-{name} argument must be {'a long' if long else 'an int'} value")
    return value


def deprecated_watch(sh: Shell, inv: Invocation, cmd: str, flags: str) -> None:
    """zkCli's retainCompatibility: ``cmd path watch`` warns and means -w."""
    if len(inv.pos) > 1:
        sh.out.notice(f"'{cmd} path [watch]' has been deprecated. "
                      f"Please use '{cmd} {flags} path' instead.")
        inv.args.options["w"] = True
        del inv.pos[1:]


def print_stat(sh: Shell, stat: Any) -> None:
    sh.out.text(render.stat_block(stat))


# ------------------------------------------------------------------ zkCli commands


@command("ls", group="nodes", summary="list the children of a znode",
         usage="ls [-s] [-w] [-R] path",
         flags=(F_STAT, F_WATCH, Flag("R", "list the whole subtree, one path per line")),
         args=("path",), min_args=0, max_args=2, path_args=(0,),
         examples=("ls /", "ls -s /app", "ls -R /app", "ls --format json -s /app"),
         details="Children are sorted and printed as [a, b, c]. Without a path, lists the "
                 "current directory (zkCli requires the path).")
async def ls(sh: Shell, inv: Invocation) -> int:
    deprecated_watch(sh, inv, "ls", "[-s] [-w] [-R]")
    path = sh.resolve(inv.pos[0] if inv.pos else sh.cwd)
    client = sh.client
    watch = watch_arg(sh, inv)
    if inv.args.has("R"):
        await client.get(path, watch=watch)
        sh.out.line(path)
        # ZKUtil.visitSubTreeDFS order: a node's sorted children together, then each
        # child's subtree in turn
        stack = [path]
        while stack:
            node = stack.pop()
            try:
                children = sorted(await client.get_children(node, watch=watch))
            except NoNodeError:
                continue
            kids = [node + "/" + c if node != "/" else "/" + c for c in children]
            for k in kids:
                sh.out.line(k)
            stack.extend(reversed(kids))
        return ExitCode.OK
    if inv.args.has("s") or sh.fmt == "json":
        children, stat = await client.get_children(path, watch=watch, include_stat=True)
    else:
        children, stat = await client.get_children(path, watch=watch), None
    children = sorted(children)
    if sh.fmt == "json":
        doc: dict[str, Any] = {"path": path, "children": children}
        if inv.args.has("s"):
            doc["stat"] = render.stat_dict(stat)
        sh.out.text(render.to_json(doc))
        return ExitCode.OK
    sh.out.line(render.java_list(children))
    if inv.args.has("s"):
        print_stat(sh, stat)
    return ExitCode.OK


@command("get", group="nodes", summary="print the data of a znode",
         usage="get [-s] [-w] path",
         flags=(F_STAT, F_WATCH, Flag("b", "print the data as base64"),
                Flag("x", "print the data as a hex dump")),
         args=("path",), min_args=1, max_args=2, path_args=(0,),
         examples=("get /app/config", "get -s -w /app/config", "get -x /bin/blob"),
         details="Null data prints as null. On a terminal, data that is not UTF-8 text is "
                 "shown as a hex dump (a note goes to stderr); when piped, the raw bytes are "
                 "written followed by a newline.")
async def get(sh: Shell, inv: Invocation) -> int:
    deprecated_watch(sh, inv, "get", "[-s] [-w]")
    path = sh.resolve(inv.pos[0])
    data, stat = await sh.client.get(path, watch=watch_arg(sh, inv))
    if sh.fmt == "json":
        doc: dict[str, Any] = {"path": path}
        if data is None:
            doc["data"] = None
        elif render.is_text(data):
            doc["data"] = data.decode("utf-8")
        else:
            import base64
            doc["data_base64"] = base64.b64encode(data).decode("ascii")
        if inv.args.has("s"):
            doc["stat"] = render.stat_dict(stat)
        sh.out.text(render.to_json(doc))
        return ExitCode.OK
    if inv.args.has("b"):
        import base64
        sh.out.line(base64.b64encode(data or b"").decode("ascii"))
    elif inv.args.has("x"):
        sh.out.text(render.hexdump(data or b""))
    else:
        sh.out.data(data)
    if inv.args.has("s"):
        print_stat(sh, stat)
    return ExitCode.OK


@command("stat", group="nodes", summary="print the stat of a znode",
         usage="stat [-w] path", flags=(F_WATCH,), args=("path",), min_args=1, max_args=2,
         path_args=(0,), examples=("stat /app", "stat --format json /app"),
         details="Eleven key = value lines as zkCli prints them (hex zxids, Java dates). "
                 "With -w an exists watch is left even if the node does not exist.")
async def stat(sh: Shell, inv: Invocation) -> int:
    deprecated_watch(sh, inv, "stat", "[-w]")
    path = sh.resolve(inv.pos[0])
    st = await sh.client.exists(path, watch=watch_arg(sh, inv))
    if st is None:
        raise NoNodeError(path)
    if sh.fmt == "json":
        sh.out.text(render.to_json({"path": path, "stat": render.stat_dict(st)}))
    else:
        print_stat(sh, st)
    return ExitCode.OK


@command("set", group="nodes", summary="replace the data of a znode",
         usage="set [-s] [-v version] path data",
         flags=(F_STAT, Flag("v", "only if the data version matches", "version")),
         args=("path", "data"), min_args=2, max_args=2, path_args=(0,),
         examples=("set /app/config 'a=1'", "set -v 3 /app/config 'a=2'",
                   "set /app/config x -v 4"),
         details="Options may follow the positionals, as in zkCli.")
async def set_(sh: Shell, inv: Invocation) -> int:
    path = sh.resolve(inv.pos[0])
    version = int_option(inv, "v", "the expected data version")
    st = await sh.client.set(path, inv.pos[1].encode("utf-8"),
                             version if version is not None else -1)
    if inv.args.has("s"):
        print_stat(sh, st)
    return ExitCode.OK


@command("create", group="nodes", summary="create a znode",
         usage="create [-s] [-e] [-c] [-t ttl] path [data] [acl]",
         flags=(Flag("s", "sequential: append a 10-digit counter to the name"),
                Flag("e", "ephemeral: deleted when this session ends"),
                Flag("c", "container: deleted by the server when its last child goes"),
                Flag("t", "time to live in ms (persistent nodes only)", "ttl")),
         args=("path", "data", "acl"), min_args=1, max_args=3, path_args=(0,),
         examples=("create /app", "create /app/config 'a=1'", "create -e -s /locks/lock- ''",
                   "create /secret x digest:bob:Q2F0Q2F0Q2F0Q2F0Q2F0Q2F0Q2E=:cdrwa"),
         details="Prints 'Created <path>' on stderr (the actual path for sequential nodes). "
                 "Without data the node's data is null. The ACL is a comma-separated list "
                 "of scheme:id:perms (default world:anyone:cdrwa).")
async def create(sh: Shell, inv: Invocation) -> int:
    o = inv.args
    seq, eph, cont = o.has("s"), o.has("e"), o.has("c")
    if cont and (seq or eph):
        raise UsageError("-c cannot be combined with -s or -e. Containers cannot be "
                         "ephemeral or sequential.")
    ttl = 0
    if o.has("t"):
        if eph:
            raise UsageError("TTLs cannot be used with Ephemeral znodes")
        if cont:
            raise UsageError("TTLs cannot be used with Container znodes")
        ttl_v = int_option(inv, "t", "the TTL in milliseconds", long=True)
        assert ttl_v is not None
        if ttl_v <= 0 or ttl_v > TTL_MAX_MS:
            raise UsageError(f"ttl must be positive and cannot be larger than: {TTL_MAX_MS}")
        ttl = ttl_v
    path = sh.resolve(inv.pos[0], sequential=seq)
    data = inv.pos[1].encode("utf-8") if len(inv.pos) > 1 else None
    acl = parse_acl(inv.pos[2]) if len(inv.pos) > 2 else None
    try:
        created = await sh.client.create(path, data, acl, ephemeral=eph, sequence=seq,
                                         container=cont, ttl_ms=ttl)
    except NoNodeError as e:
        raise ShellError(f"Node does not exist: {path}",
                         hint="the parent node is missing; create it first",
                         exit_code=ExitCode.FAILED) from e
    if isinstance(created, tuple):
        created = created[0]
    sh.out.notice(f"Created {created}")
    return ExitCode.OK


@command("delete", group="nodes", summary="delete a znode (it must have no children)",
         usage="delete [-v version] path",
         flags=(Flag("v", "only if the data version matches", "version"),),
         args=("path",), min_args=1, max_args=2, path_args=(0,),
         examples=("delete /app/config", "delete -v 2 /app/config"))
async def delete(sh: Shell, inv: Invocation) -> int:
    if len(inv.pos) > 1:
        # zkCli quirk kept: the old 'delete path version' form warns and ignores the version
        sh.out.notice("'delete path [version]' has been deprecated. "
                      "Please use 'delete [-v version] path' instead.")
        del inv.pos[1:]
    path = sh.resolve(inv.pos[0])
    version = int_option(inv, "v", "the expected data version")
    await sh.client.delete(path, version if version is not None else -1)
    return ExitCode.OK


async def subtree(client: Any, root: str) -> list[str]:
    """All paths of the subtree at ``root``, breadth first (root first)."""
    out = [root]
    queue = deque([root])
    while queue:
        node = queue.popleft()
        try:
            children = await client.get_children(node)
        except NoNodeError:
            if node == root:
                raise
            continue
        for c in children:
            p = "/" + c if node == "/" else node + "/" + c
            out.append(p)
            queue.append(p)
    return out


@command("deleteall", group="nodes", summary="delete a znode and its whole subtree",
         usage="deleteall path [-b batch size]",
         flags=(Flag("b", "deletes per multi request (default 1000)", "batch size"),),
         args=("path",), min_args=1, max_args=1, path_args=(0,), aliases=("rmr",),
         examples=("deleteall /app", "deleteall /app -b 100"),
         details="Deletes leaves first in multi batches of -b operations. Deleting / asks "
                 "for confirmation on a terminal and needs --yes otherwise.")
async def deleteall(sh: Shell, inv: Invocation) -> int:
    if inv.name == "rmr":
        sh.out.notice("'rmr' has been deprecated. Please use 'deleteall' instead.")
    path = sh.resolve(inv.pos[0])
    raw = inv.args.value("b")
    batch = 1000
    if raw is not None:
        try:
            batch = int(raw)
        except ValueError:
            raise UsageError("-b argument must be an int value") from None
        if batch <= 0:
            raise UsageError("-b argument must be a positive int value")
    if path == "/" and not await confirm(sh, "Delete every znode on the server?"):
        return ExitCode.USAGE
    client = sh.client
    nodes = await subtree(client, path)
    todo = [p for p in reversed(nodes) if not p.startswith("/zookeeper") and p != "/"]
    failed = False
    for i in range(0, len(todo), batch):
        chunk = todo[i:i + batch]
        try:
            txn = client.transaction()
            for p in chunk:
                txn.delete(p)
            results = await txn.commit()
            if any(isinstance(r, Exception) for r in (results or [])):
                failed = True
        except ZkError:
            failed = True
    if failed:
        raise ShellError("Failed to delete some node(s) in the subtree!")
    return ExitCode.OK


async def confirm(sh: Shell, question: str) -> bool:
    if sh.assume_yes:
        return True
    if sh.confirm is not None:
        return await sh.confirm(question)
    raise UsageError(f"{question} Refusing without confirmation.",
                     hint="pass --yes to the shell to confirm destructive commands")


@command("sync", group="nodes", summary="make the connected server catch up with the leader",
         usage="sync path", args=("path",), min_args=1, max_args=1, path_args=(0,),
         examples=("sync /app",))
async def sync(sh: Shell, inv: Invocation) -> int:
    path = sh.resolve(inv.pos[0])
    try:
        await sh.client.sync(path)
    except ZkError as e:
        sh.out.line(f"Sync has failed. rc={int(e.code)}")
        return ExitCode.FAILED
    sh.out.line("Sync is OK")
    return ExitCode.OK


@command("getEphemerals", group="nodes",
         summary="list this session's ephemeral nodes (under a path prefix)",
         usage="getEphemerals path", args=("path",), min_args=0, max_args=1, path_args=(0,),
         examples=("getEphemerals", "getEphemerals /locks"))
async def get_ephemerals(sh: Shell, inv: Invocation) -> int:
    prefix = sh.resolve(inv.pos[0]) if inv.pos else "/"
    paths = await sh.client.get_ephemerals(prefix)
    sh.out.line(render.java_list(paths))
    return ExitCode.OK


@command("getAllChildrenNumber", group="nodes",
         summary="count all descendants of a znode", usage="getAllChildrenNumber path",
         args=("path",), min_args=1, max_args=1, path_args=(0,),
         examples=("getAllChildrenNumber /app",))
async def get_all_children_number(sh: Shell, inv: Invocation) -> int:
    path = sh.resolve(inv.pos[0])
    sh.out.line(str(await sh.client.get_all_children_number(path)))
    return ExitCode.OK


# ------------------------------------------------------------------ beyond zkCli


@command("cd", group="nodes", summary="change the current znode (for relative paths)",
         usage="cd [path]", args=("path",), min_args=0, max_args=1, path_args=(0,),
         zkcli=False, examples=("cd /app", "cd ..", "cd config", "cd"),
         details="Relative paths in every command resolve against the current znode. "
                 "Without a path, goes back to /.")
async def cd(sh: Shell, inv: Invocation) -> int:
    path = sh.resolve(inv.pos[0]) if inv.pos else "/"
    if await sh.client.exists(path) is None:
        raise NoNodeError(path)
    sh.cwd = path
    return ExitCode.OK


@command("pwd", group="nodes", summary="print the current znode", usage="pwd",
         min_args=0, max_args=0, zkcli=False, needs_connection=False, examples=("pwd",))
async def pwd(sh: Shell, inv: Invocation) -> int:
    sh.out.line(sh.cwd)
    return ExitCode.OK


async def build_tree(client: Any, path: str, depth: int | None) -> render.TreeNode:
    async def walk(node: str, name: str, level: int) -> render.TreeNode:
        if depth is not None and level >= depth:
            return (name, [])
        try:
            children = sorted(await client.get_children(node))
        except NoNodeError:
            if level == 0:
                raise
            return (name, [])
        kids = []
        for c in children:
            kids.append(await walk("/" + c if node == "/" else node + "/" + c, c, level + 1))
        return (name, kids)

    return await walk(path, path, 0)


def tree_json(node: render.TreeNode) -> dict[str, Any]:
    return {"name": node[0], "children": [tree_json(c) for c in node[1]]}


@command("tree", group="nodes", summary="draw the subtree of a znode",
         usage="tree [-d depth] [path]",
         flags=(Flag("d", "stop after this many levels", "depth"),),
         args=("path",), min_args=0, max_args=1, path_args=(0,), zkcli=False,
         examples=("tree", "tree -d 2 /app", "tree --format json /app"),
         details="Box-drawing glyphs on a terminal, two-space indentation when piped. "
                 "Ctrl-C stops a long walk.")
async def tree(sh: Shell, inv: Invocation) -> int:
    path = sh.resolve(inv.pos[0]) if inv.pos else sh.cwd
    depth = int_option(inv, "d", "the depth")
    root = await build_tree(sh.client, path, depth)
    if sh.fmt == "json":
        sh.out.text(render.to_json(tree_json(root)))
    elif sh.out.tty:
        try:
            sh.out.text(render.tree_rich(root, sh.out.color))
        except ImportError:
            sh.out.text(render.tree_glyphs(root))
    else:
        sh.out.text(render.tree_plain(root))
    return ExitCode.OK


@command("find", group="nodes", summary="print paths under a znode whose name matches",
         usage="find path pattern", args=("path", "pattern"), min_args=1, max_args=2,
         path_args=(0,), zkcli=False,
         examples=("find / 'lock-*'", "find /app config"),
         details="The pattern is a shell glob (*, ?, [..]) matched against each node's "
                 "name; a pattern without glob characters matches names containing it. "
                 "Matching paths print one per line, breadth first.")
async def find(sh: Shell, inv: Invocation) -> int:
    path = sh.resolve(inv.pos[0])
    pattern = inv.pos[1] if len(inv.pos) > 1 else "*"
    glob = any(ch in pattern for ch in "*?[")
    for p in await subtree(sh.client, path):
        name = p.rsplit("/", 1)[-1]
        if p == path:
            continue
        if (fnmatch.fnmatchcase(name, pattern) if glob else pattern in name):
            sh.out.line(p)
    return ExitCode.OK
