"""The TLS context a client's options ask for.

Three ways in: ``ssl=`` (an SSLContext, ours), ``verify=`` (httpx's spelling,
so code written for the official client keeps working) and
``dangerously_skip_tls_verify=`` (the loud way to turn checks off). At most
one may be given; turning verification off warns (:class:`InsecureTLSWarning`).
"""

from __future__ import annotations

import os
import ssl as _ssl
import sys
import warnings
from dataclasses import dataclass

from . import _args
from ._errors import InsecureTLSWarning, RequestError

__all__ = ["TlsOptions", "VerifyArg", "tls_context"]

VerifyArg = bool | str | os.PathLike[str] | _ssl.SSLContext

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


@dataclass(frozen=True, kw_only=True, slots=True)
class TlsOptions:
    """A client's TLS options as given, kept so that a copy of the client in
    another process (a pickle) builds the same context there."""

    ssl: _ssl.SSLContext | None = None
    verify: VerifyArg = True
    skip_verify: bool = False

    def context(self, where: str, *, session: bool = False) -> _ssl.SSLContext | None:
        """The context these options ask for (see :func:`tls_context`)."""
        return tls_context(
            ssl=self.ssl,
            verify=self.verify,
            skip_verify=self.skip_verify,
            where=where,
            session=session,
        )

    def unpicklable(self) -> str | None:
        """Why these options cannot travel to another process, if they cannot:
        an ``SSLContext`` holds OpenSSL state that pickle cannot copy."""
        if isinstance(self.ssl, _ssl.SSLContext):
            return "ssl=<SSLContext>"
        if isinstance(self.verify, _ssl.SSLContext):
            return "verify=<SSLContext>"
        return None


def tls_context(
    *,
    ssl: _ssl.SSLContext | None,
    verify: VerifyArg,
    skip_verify: bool,
    where: str,
    session: bool = False,
) -> _ssl.SSLContext | None:
    """The context for ``https://`` connections to ``where``; ``None`` means
    the default one (certificates checked against the system's CAs).
    ``session``: the client sends through a caller's aiohttp session, whose
    connector owns TLS, so no option may be given."""
    _args.instance_of("ssl", ssl, (_ssl.SSLContext, type(None)))
    given = [
        name
        for name, used in (
            ("ssl=", ssl is not None),
            ("verify=", verify is not True),
            ("dangerously_skip_tls_verify=", skip_verify),
        )
        if used
    ]
    if session and given:
        raise RequestError(
            "TLS options do not apply with session=: configure TLS on the "
            "session's connector (aiohttp.TCPConnector(ssl=...))"
        )
    if len(given) > 1:
        raise RequestError(f"pass only one of {', '.join(given)}")
    if ssl is not None:
        return ssl
    if isinstance(verify, _ssl.SSLContext):
        return verify
    if verify is False or skip_verify:
        context = _ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = _ssl.CERT_NONE
        option = "verify=False" if verify is False else "dangerously_skip_tls_verify"
        warnings.warn(
            InsecureTLSWarning(
                f"TLS certificate verification is disabled for {where} ({option})"
            ),
            stacklevel=_caller_outside_package(),
        )
        return context
    if verify is True:
        return None
    if isinstance(verify, str | os.PathLike):
        return _trusting(os.fspath(verify))
    raise RequestError(
        "verify must be a bool, a CA bundle path or an ssl.SSLContext, "
        f"got {type(verify).__name__}"
    )


def _trusting(path: str) -> _ssl.SSLContext:
    """A verifying context that trusts the CA certificates at ``path`` (a
    PEM bundle, or a directory prepared with ``c_rehash``), as httpx's
    ``verify="..."`` does."""
    try:
        if os.path.isdir(path):
            return _ssl.create_default_context(capath=path)
        return _ssl.create_default_context(cafile=path)
    except FileNotFoundError:
        raise RequestError(f"verify={path!r}: no such CA file or directory") from None
    except (OSError, _ssl.SSLError) as exc:
        raise RequestError(
            f"verify={path!r}: cannot load CA certificates ({exc})"
        ) from None


def _caller_outside_package() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside
    this package: the user's line that made the client, however deep in our
    constructors the warning is raised."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
