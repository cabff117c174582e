"""The digests section of the settings: the digest file's path and the operator's allowlist.

The file (`FLOWKEEPER_DIGESTS`) is kept with the rules by Product Ops and read again at
each delivery, so an edit takes effect without a restart; here only its path is checked.
The allowlist (`FLOWKEEPER_DIGEST_ALLOW`) is the operator's and is parsed once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from integration.settings_values import SettingsError, text_of


class DigestConfigError(SettingsError):
    """The digest file or the allowlist is wrong; the message names the entry."""


@dataclass(frozen=True)
class Allowlist:
    url_prefixes: tuple[str, ...] = ()
    folders: tuple[Path, ...] = ()

    @classmethod
    def parse(cls, raw: str) -> Allowlist:
        urls, folders = [], []
        for part in filter(None, (p.strip() for p in raw.split(","))):
            if part.startswith(("http://", "https://")):
                if not urlsplit(part).netloc:
                    raise DigestConfigError(f"FLOWKEEPER_DIGEST_ALLOW: {part!r} has no host")
                urls.append(part)
            elif part.startswith("/"):
                folders.append(Path(part).resolve())
            else:
                raise DigestConfigError("FLOWKEEPER_DIGEST_ALLOW entries are https:// prefixes or absolute "
                                        f"folders (got {part!r})")
        return cls(tuple(urls), tuple(folders))

    def allows_url(self, url: str) -> bool:
        """Same scheme, host and port, and a path under an allowed one on a segment boundary.

        Compared as parsed URLs, never as strings: `…/T0001` does not allow `…/T00012345`,
        and a target with userinfo, dot segments (also percent-encoded) or encoded
        slashes is refused outright, since the receiving server may decode them.
        """
        target = _parsed(url)
        if target is None:
            return False
        return any((allowed := _parsed(prefix)) is not None and target[0] == allowed[0]
                   and target[1][: len(allowed[1])] == allowed[1] for prefix in self.url_prefixes)

    def allows_file(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved.is_relative_to(folder) for folder in self.folders)


_ENCODED_TRICKS = ("%2e", "%2f", "%5c", "%00")


def _parsed(url: str) -> tuple[tuple[str, str, int], list[str]] | None:
    """(scheme, host, port) and the path's segments, or None for a URL that must not be trusted."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    lowered = parts.path.lower()
    if (parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or "\\" in url
            or any(trick in lowered for trick in _ENCODED_TRICKS)):
        return None
    segments = parts.path.split("/")[1:]
    if any(segment in (".", "..") for segment in segments):
        return None
    if segments and segments[-1] == "":
        segments = segments[:-1]  # `/fk/` and `/fk` name the same folder of hooks
    return (parts.scheme, parts.hostname.lower(), port), segments


@dataclass(frozen=True)
class DigestSettings:
    file: Path | None = None  # FLOWKEEPER_DIGESTS
    allow: Allowlist = field(default_factory=Allowlist)  # FLOWKEEPER_DIGEST_ALLOW


def load_digest_settings(env: Mapping[str, str]) -> DigestSettings:
    """Read and validate the digest variables; SettingsError names the first bad one."""
    raw = text_of(env, "FLOWKEEPER_DIGESTS")
    if raw and not Path(raw).is_file():
        raise SettingsError(f"FLOWKEEPER_DIGESTS: {raw} is not a file")
    return DigestSettings(Path(raw) if raw else None, Allowlist.parse(text_of(env, "FLOWKEEPER_DIGEST_ALLOW")))
