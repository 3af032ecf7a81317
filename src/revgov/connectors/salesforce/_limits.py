"""``Sforce-Limit-Info``: the org's API usage, sent on every REST and Bulk 2.0 response.

The header holds ``;``-separated segments, e.g.
``api-usage=18/15000; per-app-api-usage=17/250(appName=revgov); api-bursts=1/750``.
simple-salesforce parses the first two for REST calls only; the connector reads the header of
every response (REST, Bulk 2.0, describe) itself so that the budget and the progress output
see all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Usage", "parse_limit_info"]

_SEGMENT = re.compile(r"([a-z][a-z-]*)=(\d+)/(\d+)(?:\(([^)]*)\))?")


@dataclass(frozen=True)
class Usage:
    """One segment: calls used of the allowance, and its qualifier (``appName=...``)."""

    used: int
    limit: int
    qualifier: str | None = None

    def text(self) -> str:
        share = f" ({self.used / self.limit:.0%})" if self.limit else ""
        return f"{self.used:,}/{self.limit:,}{share}"


def parse_limit_info(header: str | None) -> dict[str, Usage]:
    """Segment name (``api-usage``, ``per-app-api-usage``, ``api-bursts``) to its usage."""
    if not header:
        return {}
    return {
        m.group(1): Usage(int(m.group(2)), int(m.group(3)), m.group(4))
        for m in _SEGMENT.finditer(header)
    }
