"""HTTP statuses into the exception tree (``_transport/_failures.py``): the
class for every status we name, and a 401's ``signin_url`` read from the
body Ollama sends on cloud and account routes, over the raw-bytes loopback
server and as a unit."""

from __future__ import annotations

import pytest

from ollama_async import (
    AuthenticationError,
    ServerError,
    StatusError,
)
from ollama_async._transport import status_error
from ollama_async._transport._failures import _STATUS_ERRORS

from ._scripted import ServeFn, answer, assert_ours, client_for, response

HI = [{"role": "user", "content": "hi"}]
SIGNIN = "https://ollama.com/connect?name=host&key=c3NoLWVkMjU1MTk"
NULL_ERROR = f'{{"error":null,"signin_url":"{SIGNIN}"}}'


def _unauthorized(body: bytes, content_type: str = "application/json") -> bytes:
    return response(
        body, status="401 Unauthorized", headers=(f"Content-Type: {content_type}",)
    )


# -- over loopback -------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["call", "stream"])
async def test_a_401_with_signin_url(scripted_server: ServeFn, *, stream: bool) -> None:
    body = b'{"error":"unauthorized","signin_url":"%s"}' % SIGNIN.encode()
    server = await scripted_server(answer(_unauthorized(body)))
    async with client_for(server.url) as client:
        with pytest.raises(AuthenticationError) as info:
            if stream:
                await client.chat("gpt-oss:120b-cloud", HI, stream=True)
            else:
                await client.chat("gpt-oss:120b-cloud", HI)
    assert_ours(info.value)
    assert info.value.signin_url == SIGNIN
    assert (info.value.status_code, info.value.error) == (401, "unauthorized")
    assert info.value.body == body


async def test_a_401_without_signin_url(scripted_server: ServeFn) -> None:
    server = await scripted_server(answer(_unauthorized(b'{"error":"unauthorized"}')))
    async with client_for(server.url) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.chat("gpt-oss:120b-cloud", HI)
    assert_ours(info.value)
    assert info.value.signin_url is None
    assert info.value.error == "unauthorized"


async def test_a_401_with_a_body_that_is_not_json(scripted_server: ServeFn) -> None:
    """A proxy's login page, say: its text is the message, and no signin_url."""
    server = await scripted_server(
        answer(_unauthorized(b"<h1>Log in first</h1>", "text/html"))
    )
    async with client_for(server.url) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.version()
    assert_ours(info.value)
    assert info.value.signin_url is None
    assert info.value.error == "<h1>Log in first</h1>"


# -- status_error, as a unit -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [pytest.param(s, c, id=f"{s}-{c.__name__}") for s, c in _STATUS_ERRORS.items()],
)
def test_status_error_for_every_named_status(
    status: int, cls: type[StatusError]
) -> None:
    body = b'{"error":"no"}'
    err = status_error(status, body, "7")
    assert type(err) is cls
    assert (err.status, err.error, err.body, err.retry_after) == (status, "no", body, 7)


@pytest.mark.parametrize(
    ("status", "cls"),
    [(500, ServerError), (502, ServerError), (599, ServerError), (418, StatusError)],
)
def test_status_error_for_other_statuses(status: int, cls: type[StatusError]) -> None:
    assert type(status_error(status, b"", None)) is cls


@pytest.mark.parametrize(
    ("body", "message", "signin_url"),
    [
        pytest.param(
            b'{"error":"unauthorized","signin_url":"%s"}' % SIGNIN.encode(),
            "unauthorized",
            SIGNIN,
            id="both",
        ),
        pytest.param(b'{"error":"unauthorized"}', "unauthorized", None, id="no-url"),
        pytest.param(
            b'{"error":"unauthorized","signin_url":42}',
            "unauthorized",
            None,
            id="url-not-str",
        ),
        pytest.param(
            NULL_ERROR.encode(),
            NULL_ERROR,
            SIGNIN,
            id="error-not-str",
        ),
        pytest.param(b"[1, 2]", "[1, 2]", None, id="json-not-object"),
        pytest.param(b'{"error":"unauth', '{"error":"unauth', None, id="cut-short"),
        pytest.param(b"\xff\xfe", "\ufffd\ufffd", None, id="not-utf8"),
        pytest.param(b"", "Unauthorized", None, id="empty"),
    ],
)
def test_status_error_reads_signin_url_tolerantly(
    body: bytes, message: str, signin_url: str | None
) -> None:
    err = status_error(401, body, None)
    assert isinstance(err, AuthenticationError)
    assert (err.error, err.signin_url) == (message, signin_url)


def test_signin_url_is_only_on_authentication_errors() -> None:
    body = b'{"error":"forbidden","signin_url":"%s"}' % SIGNIN.encode()
    assert not hasattr(status_error(403, body, None), "signin_url")


def test_authentication_error_built_by_hand() -> None:
    """The constructor every StatusError has keeps working; signin_url is an
    optional keyword."""
    err = AuthenticationError("unauthorized", 401)
    assert (err.status, err.body, err.retry_after, err.signin_url) == (
        401,
        b"",
        None,
        None,
    )
    err = AuthenticationError("unauthorized", 401, body=b"{}", signin_url=SIGNIN)
    assert (err.body, err.signin_url) == (b"{}", SIGNIN)
    assert str(err) == "unauthorized (status code: 401)"
