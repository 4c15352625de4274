"""A network namespace joined to the root namespace by a veth pair, for browsers under test.

Why: this machine must send traffic only to loopback and to addresses inside namespaces the
tests create. Chromium ignores loopback for ICE, so each test session puts its browsers in a
namespace of its own (`ip netns exec`) and the server listens, and does ICE, only on the veth's
host-side address. The namespace has no default route: nothing in it can reach any other
address.

Names and the subnet are derived from the pid so concurrent runs cannot collide:
namespace `rstm<pid>`, interfaces `rsh<pid>` (root side, 10.213.X.1/24) and `rsn<pid>`
(namespace side, 10.213.X.2/24).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

PREFIX = "rstm"


def _ip(
    *args: str, netns: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = ["ip", "netns", "exec", netns, "ip", *args] if netns else ["ip", *args]
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def _subnets_in_use() -> set[int]:
    """Third octets of 10.213.X.0/24 already on some interface of the root namespace."""
    used: set[int] = set()
    out = _ip("-o", "-4", "addr", "show").stdout
    for word in out.split():
        if word.startswith("10.213."):
            try:
                used.add(int(word.split(".")[2]))
            except (IndexError, ValueError):
                pass
    return used


def remove_stale_namespaces() -> list[str]:
    """Delete namespaces of this naming scheme left by runs whose process is gone (killed before
    their finalizer ran). Deleting a namespace also deletes the veth pair it holds one end of."""
    removed: list[str] = []
    listing = subprocess.run(
        ["ip", "netns", "list"], check=False, capture_output=True, text=True
    ).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX) and name[len(PREFIX) :].isdigit():
            pid = name[len(PREFIX) :]
        elif name.startswith("rsts") and name[4:].partition("x")[0].isdigit():
            pid = name[4:].partition("x")[0]  # a ShapedNamespace
        else:
            continue
        if Path(f"/proc/{pid}").exists():
            continue  # that run is still alive (or the pid was reused): leave it
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
        removed.append(name)
    return removed


@dataclass
class BrowserNamespace:
    name: str
    host_if: str
    ns_if: str
    host_address: str
    ns_address: str

    @classmethod
    def create(cls, pid: int | None = None) -> BrowserNamespace:
        pid = os.getpid() if pid is None else pid
        remove_stale_namespaces()
        used = _subnets_in_use()
        subnet = next(x for x in ((pid + i) % 250 + 2 for i in range(250)) if x not in used)
        ns = cls(
            name=f"{PREFIX}{pid}",
            host_if=f"rsh{pid}",
            ns_if=f"rsn{pid}",
            host_address=f"10.213.{subnet}.1",
            ns_address=f"10.213.{subnet}.2",
        )
        try:
            ns._setup()
        except BaseException:
            ns.destroy()
            raise
        return ns

    def _setup(self) -> None:
        self.destroy()  # a leftover with our pid in its name is stale: this process is new
        self._add_pair()

    def _add_pair(self) -> None:
        """The namespace, and the veth pair with an address on each side, up. No IPv6
        link-local addresses: the kernel would add them a second or two after the link is up
        (after duplicate address detection), and Chromium, started meanwhile, takes that
        address change for a network change and fails its loads with ERR_NETWORK_CHANGED."""
        subprocess.run(
            ["ip", "netns", "add", self.name], check=True, capture_output=True, text=True
        )
        _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        _ip("link", "set", self.ns_if, "netns", self.name)
        _ip("link", "set", self.host_if, "addrgenmode", "none")
        _ip("link", "set", self.ns_if, "addrgenmode", "none", netns=self.name)
        _ip("addr", "add", f"{self.host_address}/24", "dev", self.host_if)
        _ip("link", "set", self.host_if, "up")
        _ip("addr", "add", f"{self.ns_address}/24", "dev", self.ns_if, netns=self.name)
        _ip("link", "set", self.ns_if, "up", netns=self.name)
        _ip("link", "set", "lo", "up", netns=self.name)

    def destroy(self) -> None:
        """Remove the veth pair and the namespace; safe to call twice or after a partial setup."""
        _ip("link", "del", self.host_if, check=False)
        subprocess.run(["ip", "netns", "del", self.name], check=False, capture_output=True)

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]


SHAPED_PREFIX = "rsts"


@dataclass
class ShapedNamespace(BrowserNamespace):
    """One more namespace for a browser whose link is shaped (``tc tbf``) on its own veth
    pair, joined to the test's server address only.

    The namespace side (10.214.X.2) has a single route: to ``server_address`` (an address of
    the root namespace, e.g. the browser namespace's 10.213.Y.1) through its veth. The root
    namespace answers over the veth's connected subnet, so everything between this browser
    and the server crosses this pair and nothing else does: shaping the root side's egress
    shapes the browser's downlink, the namespace side's egress its uplink. Names carry the pid
    and a counter (``rsts<pid>x<n>``, interfaces ``rth…``/``rtn…``)."""

    _count = 0

    @classmethod
    def create_shaped(cls, server_address: str) -> ShapedNamespace:
        cls._count += 1
        pid = os.getpid()
        n = cls._count
        used = _ip("-o", "-4", "addr", "show").stdout
        # a subnet of its own, not the one a namespace of this run had a moment ago (a
        # reused address can meet the old link's state on the way)
        start = (pid * 7 + n * 37) % 230
        subnet = next(20 + (start + i) % 230 for i in range(230)
                      if f"10.214.{20 + (start + i) % 230}." not in used)
        ns = cls(
            name=f"{SHAPED_PREFIX}{pid}x{n}",
            host_if=f"rth{pid % 100000}x{n}",
            ns_if=f"rtn{pid % 100000}x{n}",
            host_address=f"10.214.{subnet}.1",
            ns_address=f"10.214.{subnet}.2",
        )
        try:
            ns._add_pair()
            _ip("route", "add", f"{server_address}/32", "dev", ns.ns_if, netns=ns.name)
        except BaseException:
            ns.destroy()
            raise
        return ns

    @staticmethod
    def _tbf(*prefix: str, dev: str, kbit: int | None) -> None:
        subprocess.run([*prefix, "tc", "qdisc", "del", "dev", dev, "root"],
                       check=False, capture_output=True)
        if kbit is not None:
            # a 100 ms queue, as a real access link's buffer; a small burst (one token
            # bucket of 4 KB) so the rate holds over tens of milliseconds
            subprocess.run([*prefix, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate",
                            f"{kbit}kbit", "burst", "4kb", "latency", "100ms"],
                           check=True, capture_output=True, text=True)

    def shape_downlink(self, kbit: int | None) -> None:
        """Limit what reaches the browser to ``kbit`` kbit/s (None: unshaped)."""
        self._tbf(dev=self.host_if, kbit=kbit)

    def downlink_stats(self) -> str:
        """What the downlink's queue has sent and dropped so far (``tc -s``)."""
        out = subprocess.run(["tc", "-s", "qdisc", "show", "dev", self.host_if],
                             check=False, capture_output=True, text=True).stdout
        return " ".join(out.split())

    def shape_uplink(self, kbit: int | None) -> None:
        """Limit what the browser sends to ``kbit`` kbit/s (None: unshaped)."""
        self._tbf(*self.exec_prefix(), dev=self.ns_if, kbit=kbit)
