"""Route 53 in the live stack: the scenario's DNS authority on ``--listen-host``, counting
the answers per client group."""

from __future__ import annotations

from typing import ClassVar

from edgesim.dnsserver.authority import scenario_authority
from edgesim.dnsserver.server import DnsServer
from edgesim.live.component import Component
from edgesim.live.stack import Listener


class Dns(Component):
    name: ClassVar[str] = "dns"

    async def start(self) -> None:
        try:
            auth = scenario_authority(self.stack.run)
        except ValueError as exc:
            self.stack.notes.append(f"no DNS: {exc}")
            return
        self.stack.authority = auth
        inner = auth.handle
        metrics = self.stack.metrics
        source_group = auth._source_group
        stack = self.stack
        names: dict[str, str] = {}

        def target_of(addr: str) -> str:
            """What an answered address stands for (``edge:NRT57-C1``), from the listeners."""
            if addr not in names:
                for x in stack.listeners:
                    host = x.url.split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
                    names.setdefault(host, f"{x.component}:{x.name}")
                names.setdefault(addr, addr)
            return names[addr]

        def handle(wire: bytes, source: str, *, udp: bool) -> bytes | None:
            answer = inner(wire, source, udp=udp)
            qname, addr = _qname_and_first_a(wire, answer)
            metrics.dns(source_group(source), qname, target_of(addr) if addr else "-")
            return answer

        auth.handle = handle  # type: ignore[method-assign]
        server = DnsServer(auth, self.stack.config.listen_host, self.stack.config.dns_port)
        where = f"{self.stack.config.listen_host}:{self.stack.config.dns_port} (UDP and TCP)"
        self.stack.dns_bound = await self.stack.bind("dns", where, server.start)
        self.stack.dns_server = server
        h, p = self.stack.dns_bound
        self.stack.listeners.append(
            Listener("dns", "Route 53", f"dns://{h}:{p}", ", ".join(str(z) for z in auth.zones))
        )

    async def stop(self) -> None:
        if self.stack.dns_server is not None:
            await self.stack.dns_server.stop()
            self.stack.dns_server = None


def _qname_and_first_a(query: bytes, answer: bytes | None) -> tuple[str, str]:
    """The question's name (lower case, no trailing dot) and the first answer's IPv4 address
    ('' when there is none): a few byte reads, no full parse (the stack counts every answer)."""
    labels = []
    i = 12
    try:
        while True:
            n = query[i]
            if n == 0:
                i += 1
                break
            if n & 0xC0:
                return "", ""
            labels.append(query[i + 1 : i + 1 + n].decode("ascii", "replace").lower())
            i += 1 + n
        qend = i + 4
        if answer is None or len(answer) < qend or int.from_bytes(answer[6:8], "big") == 0:
            return ".".join(labels), ""
        j = qend
        for _ in range(int.from_bytes(answer[6:8], "big")):  # answers in order: the first A
            while True:  # the owner name
                n = answer[j]
                if n == 0:
                    j += 1
                    break
                if n & 0xC0:
                    j += 2
                    break
                j += 1 + n
            rtype = int.from_bytes(answer[j : j + 2], "big")
            rdlen = int.from_bytes(answer[j + 8 : j + 10], "big")
            if rtype == 1 and rdlen == 4:
                return ".".join(labels), ".".join(str(b) for b in answer[j + 10 : j + 14])
            j += 10 + rdlen
        return ".".join(labels), ""
    except IndexError:
        return ".".join(labels), ""
