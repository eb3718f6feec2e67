"""Where the PACS is and how to sign in: ``MEDZOO_PACS_URL``, ``MEDZOO_PACS_USER``,
``MEDZOO_PACS_PASSWORD`` and ``MEDZOO_PACS_TOKEN`` (bearer), or the same keys, lower case
without the prefix, in a ``[pacs]`` table of Streamlit secrets. A URL given on the command
line (``--url``) overrides the first. Secrets are kept out of ``repr`` and of every message:
what is shown is :attr:`PacsSettings.display_url` and :attr:`PacsSettings.auth_kind`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from zoo.errors import PacsError

ENV_PREFIX = "MEDZOO_PACS_"
#: Seconds to wait for the server before saying it does not answer.
DEFAULT_TIMEOUT = 20.0


@dataclass(frozen=True)
class PacsSettings:
    """A DICOMweb server's root URL (``.../dicom-web``) and credentials."""

    url: str
    user: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PacsError(
                f"the PACS URL must be http(s)://host[:port]/path, got {self.display_url!r}"
            )
        if parts.username or parts.password:  # credentials in the URL move to their fields
            user, password = parts.username, parts.password
            netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
            object.__setattr__(self, "url", urlunsplit(parts._replace(netloc=netloc)))
            object.__setattr__(self, "user", self.user or user)
            object.__setattr__(self, "password", self.password or password)

    def __repr__(self) -> str:
        return f"PacsSettings({self.display_url}, auth: {self.auth_kind})"

    @property
    def display_url(self) -> str:
        """The URL without user, password or query: what messages may show."""
        parts = urlsplit(self.url)
        host = parts.hostname or "?"
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    @property
    def auth_kind(self) -> str:
        if self.token:
            return "bearer token"
        if self.user:
            return "user and password"
        return "none"

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        secrets: Mapping[str, object] | None = None,
        *,
        url: str | None = None,
    ) -> PacsSettings:
        """Settings from ``secrets`` (a Streamlit ``[pacs]`` table), else the environment;
        ``url`` overrides either's URL. Raises PacsError when no URL is given anywhere."""
        environ = os.environ if environ is None else environ
        secrets = secrets or {}

        def pick(key: str) -> str | None:
            value = secrets.get(key) or environ.get(ENV_PREFIX + key.upper())
            return str(value) if value else None

        chosen = url or pick("url")
        if not chosen:
            raise PacsError(
                "no PACS configured: set MEDZOO_PACS_URL (or pass --url), or a [pacs] url in "
                "Streamlit secrets"
            )
        return cls(url=chosen, user=pick("user"), password=pick("password"), token=pick("token"))
