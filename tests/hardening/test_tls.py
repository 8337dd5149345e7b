"""TLS: verification is on by default, a private CA goes in through ``ssl=``,
and turning verification off takes a loud name and logs a warning."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from ollama_async import (
    AsyncClient,
    ConnectError,
    InsecureTLSWarning,
    MultiHostClient,
    RequestError,
)

trustme = pytest.importorskip("trustme")


@pytest.fixture
def ca() -> object:
    return trustme.CA()


@pytest.fixture
async def https_url(ca) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)

    async def version(request: web.Request) -> web.Response:
        return web.json_response({"version": "tls"})

    app = web.Application()
    app.router.add_get("/api/version", version)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.fixture
def ca_bundle(ca, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """The test CA's certificate as a PEM file, for ``verify=``."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return bundle


async def test_an_untrusted_certificate_is_refused(https_url: str) -> None:
    async with AsyncClient(https_url, retry=None) as client:
        with pytest.raises(ConnectError, match=r"(?i)certificate"):
            await client.version()


async def test_a_private_ca_through_ssl(https_url: str, ca) -> None:  # type: ignore[no-untyped-def]
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with AsyncClient(https_url, ssl=context) as client:
        assert (await client.version()).version == "tls"


async def test_skipping_verification_is_loud(https_url: str) -> None:
    with pytest.warns(InsecureTLSWarning, match="verification is disabled") as seen:
        client = AsyncClient(https_url, dangerously_skip_tls_verify=True)
    # Pointed at the line that made the client, not at our constructors.
    assert seen[0].filename == __file__
    async with client:
        assert (await client.version()).version == "tls"
    with pytest.raises(ValueError, match="only one of"):
        AsyncClient(
            https_url,
            ssl=ssl.create_default_context(),
            dangerously_skip_tls_verify=True,
        )


# -- verify=, the official client's (httpx's) spelling --------------------------


async def test_verify_takes_a_ca_bundle_path(https_url: str, ca_bundle: Path) -> None:
    for verify in (str(ca_bundle), ca_bundle):
        async with AsyncClient(https_url, verify=verify) as client:
            assert (await client.version()).version == "tls"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl rehash")
async def test_verify_takes_a_ca_directory(https_url: str, ca_bundle: Path) -> None:
    """A directory of CA certificates named by subject hash, as httpx takes."""
    directory = ca_bundle.parent
    subprocess.run(["openssl", "rehash", str(directory)], check=True)
    async with AsyncClient(https_url, verify=str(directory)) as client:
        assert (await client.version()).version == "tls"


async def test_verify_takes_a_context(https_url: str, ca) -> None:  # type: ignore[no-untyped-def]
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with AsyncClient(https_url, verify=context) as client:
        assert (await client.version()).version == "tls"


async def test_verify_false_warns_like_the_loud_name(https_url: str) -> None:
    with pytest.warns(InsecureTLSWarning, match=r"disabled .*\(verify=False\)"):
        client = AsyncClient(https_url, verify=False)
    async with client:
        assert (await client.version()).version == "tls"


async def test_the_insecure_tls_warning_can_be_silenced(https_url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=InsecureTLSWarning)
        async with AsyncClient(https_url, verify=False) as client:
            assert (await client.version()).version == "tls"


async def test_verify_true_checks_certificates(https_url: str) -> None:
    async with AsyncClient(https_url, verify=True, retry=None) as client:
        with pytest.raises(ConnectError, match=r"(?i)certificate"):
            await client.version()


def test_tls_options_are_checked_before_anything_is_sent(tmp_path: Path) -> None:
    garbage = tmp_path / "not-a-cert.pem"
    garbage.write_text("hello")
    with pytest.raises(ValueError, match="no such CA file"):
        AsyncClient("https://h", verify=str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="cannot load CA certificates"):
        AsyncClient("https://h", verify=str(garbage))
    with pytest.raises(RequestError, match="verify must be"):
        AsyncClient("https://h", verify=1)  # type: ignore[arg-type]
    with pytest.raises(RequestError, match=r"ssl must be ssl\.SSLContext"):
        AsyncClient("https://h", ssl=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only one of ssl=, verify="):
        AsyncClient("https://h", ssl=ssl.create_default_context(), verify=False)


async def test_tls_options_with_a_session_are_refused() -> None:
    async with aiohttp.ClientSession() as session:
        for options in (
            {"ssl": ssl.create_default_context()},
            {"verify": False},
            {"dangerously_skip_tls_verify": True},
        ):
            with pytest.raises(ValueError, match="connector"):
                AsyncClient("https://h", session=session, **options)  # type: ignore[arg-type]


async def test_several_hosts_over_tls(https_url: str, ca_bundle: Path) -> None:
    """MultiHostClient takes the same TLS options and gives them to every host."""
    async with MultiHostClient(
        [https_url], verify=str(ca_bundle), refresh_interval=0
    ) as client:
        assert (await client.version()).version == "tls"
    async with MultiHostClient([https_url], refresh_interval=0, retry=None) as client:
        with pytest.raises(ConnectError, match=r"(?i)certificate"):
            await client.version()
