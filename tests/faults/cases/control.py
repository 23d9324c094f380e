"""The control API against another local user (issue 16, item 6): the service runs as root, a
second, unprivileged user that the case creates tries to reach its socket, and must be refused at
every layer: the socket's directory (0700), the socket itself (0600) with that directory opened
up, and the service's own peer-credential check with both opened up. A symlink that the other
user plants at the socket's path in a shared directory is never followed.

Each layer is tried on its own, so a regression in any one of them fails the case even while the
others still hold.
"""

import errno
import json
import os
import pwd
import re
import socket
import stat
import subprocess
import time

import suite
from suite import Case, CaseFailed, CaseSkipped

OTHER_USER = "cs-fault-other"

# What the other user runs: connect, send a hello, read one line. It prints one JSON object: the
# errno of a refused connect, or the line the service answered (empty when it hung up at once).
CLIENT = r"""
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print(json.dumps({"errno": e.errno, "error": str(e)}))
    sys.exit(0)
try:
    s.sendall(b'{"hello":{"protocol":1,"version":"0.0.0","role":"cli"}}\n')
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.sendall(b'{"id":1,"call":"get_settings"}\n')
    more = s.recv(65536)
except OSError as e:
    print(json.dumps({"connected": True, "reply": data.decode(errors="replace"), "io_error": str(e)}))
    sys.exit(0)
print(json.dumps({"connected": True, "reply": data.decode(errors="replace"), "more": more.decode(errors="replace")}))
"""


def ensure_user():
    try:
        return pwd.getpwnam(OTHER_USER)
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER_USER],
        capture_output=True, text=True, timeout=30,
    )
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise CaseSkipped(f"useradd {OTHER_USER} failed ({result.returncode}): {result.stderr.strip()}")
    return pwd.getpwnam(OTHER_USER)


def as_other(ctx, argv, timeout=20):
    """Runs argv as the other user, with no capability of root's left (setpriv drops them)."""
    user = pwd.getpwnam(OTHER_USER)
    full = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--", *argv]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    return subprocess.run(full, capture_output=True, text=True, timeout=timeout, env=env, cwd="/")


def try_connect(ctx, path):
    result = as_other(ctx, ["python3", "-c", CLIENT, path])
    if result.returncode != 0:
        raise CaseFailed(f"the other user's client failed ({result.returncode}): {result.stderr[-1500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def connect_as_root(path):
    """The owner's own hello still works (the refusals are not a broken socket)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(b'{"hello":{"protocol":1,"version":"0.0.0","role":"cli"}}\n')
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def open_traversal(work, upto):
    """Lets others traverse (never list) every folder from the suite's work folder down to
    `upto`, so that the layer under test is the only one that can refuse."""
    top = os.path.dirname(work)
    path = os.path.abspath(upto)
    chain = []
    while True:
        chain.append(path)
        if path == top or path == "/":
            break
        path = os.path.dirname(path)
    for folder in chain:
        mode = stat.S_IMODE(os.stat(folder).st_mode)
        os.chmod(folder, mode | 0o011)


def start_simulator(ctx):
    match = ctx.procs.start("simulator", [ctx.sim, "--scenario", "healthy"], ready=r"listening on (http://\S+)")
    return match.group(1).rstrip("/")


def service_env(ctx, sim_url, **extra):
    return ctx.env(
        ANTHROPIC_BASE_URL=sim_url,
        CLAUDE_STATUS_STATUS_URL=sim_url,
        CLAUDE_STATUS_OFFLINE="true",
        **extra,
    )


def wait_socket(ctx, name, path, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ctx.procs.check_alive()
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                connect_as_root(path)
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise CaseFailed(f"the service did not listen on {path} within {timeout} s:\n{ctx.procs.tail(name)}")


def other_user(ctx):
    ensure_user()
    sim_url = start_simulator(ctx)
    env = service_env(ctx, sim_url)
    # The default data directory, so the socket lives in the runtime directory, as for a user.
    sock = os.path.join(env["XDG_RUNTIME_DIR"], "claude-status", "control.sock")
    ctx.procs.start("service", [ctx.cli, "service", "run"], env=env)
    wait_socket(ctx, "service", sock)
    tried = 0

    parent = os.path.dirname(sock)
    parent_mode = stat.S_IMODE(os.stat(parent).st_mode)
    sock_mode = stat.S_IMODE(os.lstat(sock).st_mode)
    if parent_mode != 0o700:
        raise CaseFailed(f"the socket's folder {parent} is {parent_mode:o}, not 700")
    if sock_mode != 0o600:
        raise CaseFailed(f"the socket {sock} is {sock_mode:o}, not 600")

    # Layer 1: everything above the socket's folder opened up; its 0700 folder refuses.
    open_traversal(ctx.work, os.path.dirname(parent))
    seen = try_connect(ctx, sock)
    tried += 1
    if seen.get("errno") != errno.EACCES:
        raise CaseFailed(f"with the socket's folder 0700 the other user got {seen}, not EACCES")

    # Layer 2: the folder opened up as well (a socket put in a shared place); the 0600 socket
    # itself refuses.
    os.chmod(parent, 0o711)
    seen = try_connect(ctx, sock)
    tried += 1
    if seen.get("errno") != errno.EACCES:
        raise CaseFailed(f"with the socket 0600 the other user got {seen}, not EACCES")

    # Layer 3: the socket's mode loosened too (a umask race at bind, a careless chmod): the
    # service itself checks who is calling (SO_PEERCRED) and answers nothing but a refusal.
    os.chmod(sock, 0o666)
    seen = try_connect(ctx, sock)
    tried += 1
    reply = seen.get("reply", "") + seen.get("more", "")
    if "errno" in seen:
        raise CaseFailed(f"the loosened socket refused the connection itself ({seen}); the layer under test is the service's check")
    if '"hello"' in reply or '"result"' in reply or "settings" in reply:
        raise CaseFailed(f"another user's client was served: {reply[:500]!r}")
    if "permission" not in reply:
        raise CaseFailed(f"another user's client was not told it is refused: {seen}")
    # The owner is still served on the same socket.
    ours = connect_as_root(sock)
    if "hello" not in ours:
        raise CaseFailed(f"the owner's hello was not answered: {ours}")
    os.chmod(sock, 0o600)
    os.chmod(parent, 0o700)
    return {"faults": tried, "refused": tried}


def planted_symlink(ctx):
    """A socket path in a folder others can write to (CLAUDE_STATUS_SOCKET in a shared /tmp-like
    folder, sticky and world-writable): the other user plants a symlink there first, pointing at a
    file of root's. The service must refuse to start on it, say why, and leave the target alone."""
    ensure_user()
    sim_url = start_simulator(ctx)
    shared = os.path.join(ctx.work, "shared")
    os.makedirs(shared, exist_ok=True)
    os.chmod(shared, 0o1777)
    open_traversal(ctx.work, shared)
    victim = ctx.path("victim.txt")
    with open(victim, "w") as f:
        f.write("root's file\n")
    os.chmod(victim, 0o644)
    sock = os.path.join(shared, "control.sock")
    planted = as_other(ctx, ["ln", "-s", victim, sock])
    if planted.returncode != 0:
        raise CaseFailed(f"the other user could not plant the symlink: {planted.stderr}")
    env = service_env(ctx, sim_url, CLAUDE_STATUS_SOCKET=sock, CLAUDE_STATUS_DATA_DIR=os.path.join(ctx.work, "data"))
    result = ctx.run([ctx.cli, "service", "run"], env=env, timeout=30)
    if result.returncode == 0:
        raise CaseFailed("the service started on a planted symlink")
    if "not a socket" not in result.stderr:
        raise CaseFailed(f"the service did not say why it refused the path: {result.stderr[-1000:]}")
    if not os.path.islink(sock) or os.readlink(sock) != victim:
        raise CaseFailed("the planted symlink was replaced or removed")
    mode = stat.S_IMODE(os.stat(victim).st_mode)
    with open(victim) as f:
        content = f.read()
    if mode != 0o644 or content != "root's file\n":
        raise CaseFailed(f"the symlink's target was changed: mode {mode:o}, content {content!r}")

    # A planted symlink to a socket is no better: it is not the service's own socket.
    os.unlink(sock)
    decoy = os.path.join(shared, "decoy.sock")
    as_other(ctx, ["python3", "-c",
                   "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])", decoy])
    as_other(ctx, ["ln", "-s", decoy, sock])
    result = ctx.run([ctx.cli, "service", "run"], env=env, timeout=30)
    if result.returncode == 0 or "not a socket" not in result.stderr:
        raise CaseFailed(f"a symlink to another user's socket was accepted: {result.returncode} {result.stderr[-800:]}")
    if not os.path.islink(sock):
        raise CaseFailed("the symlink to the decoy socket was removed")
    return {"faults": 2, "refused": 2}


CASES = [
    Case(
        "control-other-user",
        "another local user cannot reach the control socket: its folder is 0700, the socket 0600, "
        "and with both opened up the service's peer-credential check refuses the caller (EACCES, "
        "EACCES, then a `permission` error and nothing served); the owner is still served",
        other_user,
        timeout=60,
    ),
    Case(
        "control-planted-symlink",
        "a symlink that another user plants at the socket's path (a shared, sticky folder) is not "
        "followed: the service refuses to start and says why, and the target is left as it was",
        planted_symlink,
        timeout=60,
    ),
]
