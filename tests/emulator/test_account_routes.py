"""Account, cloud and heartbeat routes, byte for byte as Ollama's Go server sends
them (``server/routes.go``: StatusHandler, WhoamiHandler, SignoutHandler, the
``HEAD /`` route), and ``/api/show`` with ``system`` and ``options``."""

from __future__ import annotations

import base64
import re

import pytest

from ollama_async.testing import FakeModel, FakeOllama, FakeUser, Fault
from ollama_async.testing._registry import _go_v
from ollama_async.testing._users import SIGNIN_URL

from .conftest import Reply, error

JSON = "application/json; charset=utf-8"


@pytest.fixture
async def alice_server():
    async with FakeOllama(user="alice") as fake:
        yield fake


@pytest.fixture
def as_alice(alice_server, http):
    async def do(method, path, **kwargs):
        url = alice_server.url + path
        async with http.request(method, url, allow_redirects=False, **kwargs) as r:
            return Reply(r.status, r.headers, await r.read())

    return do


# -- GET /api/status -------------------------------------------------------------


async def test_status_default_is_cloud_on(call):
    reply = await call("GET", "/api/status")
    assert (reply.status, reply.content_type) == (200, JSON)
    assert reply.body == b'{"cloud":{"disabled":false,"source":"none"}}'


@pytest.mark.parametrize("source", ["env", "config", "both"])
async def test_status_reports_what_disabled_cloud(http, source):
    async with (
        FakeOllama(cloud_disabled_by=source) as fake,
        http.get(fake.url + "/api/status") as resp,
    ):
        assert resp.status == 200
        body = await resp.read()
    assert body == b'{"cloud":{"disabled":true,"source":"%s"}}' % source.encode()


async def test_cloud_state_changes_while_serving(server, call):
    server.cloud_disabled_by = "config"
    assert (await call("GET", "/api/status")).json["cloud"] == {
        "disabled": True,
        "source": "config",
    }
    server.cloud_disabled_by = None
    assert (await call("GET", "/api/status")).json["cloud"]["disabled"] is False


def test_cloud_source_is_checked():
    with pytest.raises(ValueError, match="cloud_disabled_by"):
        FakeOllama(cloud_disabled_by="none")  # type: ignore[arg-type]
    server = FakeOllama()
    with pytest.raises(ValueError, match="cloud_disabled_by"):
        server.cloud_disabled_by = True  # type: ignore[assignment]


# -- POST /api/me --------------------------------------------------------------------


def _signin_key(url: str) -> str:
    match = re.fullmatch(r"https://ollama\.com/connect\?name=([^&]+)&key=(.+)", url)
    assert match is not None, url
    key = match.group(2)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", key), "unpadded base64url"
    return base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()


async def test_me_signed_out_is_401_with_signin_url(call):
    reply = await call("POST", "/api/me")
    assert (reply.status, reply.content_type) == (401, JSON)
    # gin.H is a map: Go writes its keys sorted, and escapes "&" in strings.
    escaped = SIGNIN_URL.replace("&", "\\u0026").encode()
    assert reply.body == b'{"error":"unauthorized","signin_url":"' + escaped + b'"}'
    assert SIGNIN_URL.startswith("https://ollama.com/connect?name=fake-ollama&key=")
    assert _signin_key(SIGNIN_URL).startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI")


async def test_me_signed_in_sends_go_user_response(as_alice, alice_server):
    reply = await as_alice("POST", "/api/me")
    assert (reply.status, reply.content_type) == (200, JSON)
    uid = alice_server.user.id
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-\w{12}", uid)
    # id, email and name are never omitted; the others are omitempty; the
    # server fills in plan "free".
    assert reply.body == (
        b'{"id":"%s","email":"alice@example.com","name":"alice","plan":"free"}'
        % uid.encode()
    )


async def test_me_every_field_in_go_order(http):
    user = FakeUser(
        name="bob",
        id="9B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D",
        email="b@x.org",
        bio="<hi> & bye",
        avatar_url="avatars/bob.png",
        first_name="Bob",
        last_name="Builder",
        plan="pro",
    )
    async with FakeOllama(user=user) as fake, http.post(fake.url + "/api/me") as resp:
        body = await resp.read()
    assert body == (
        b'{"id":"9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d","email":"b@x.org",'
        b'"name":"bob","bio":"\\u003chi\\u003e \\u0026 bye",'
        b'"avatarurl":"avatars/bob.png","firstname":"Bob","lastname":"Builder",'
        b'"plan":"pro"}'
    )


async def test_me_blank_plan_becomes_free_and_empty_email_is_sent(server, call):
    server.user = FakeUser(name="carol", email="", plan="  ")
    body = (await call("POST", "/api/me")).json
    assert (body["email"], body["plan"]) == ("", "free")


async def test_me_nameless_user_is_401(server, call):
    # WhoamiHandler: `user == nil || user.Name == ""` -> sign in.
    server.user = FakeUser(name="")
    reply = await call("POST", "/api/me")
    assert reply.status == 401
    assert reply.json["signin_url"] == SIGNIN_URL


async def test_me_ignores_the_body_and_the_cloud_setting(server, call):
    server.user = "dave"
    server.cloud_disabled_by = "env"
    for kwargs in ({}, {"data": b"not json"}, {"json": {"name": "eve"}}):
        reply = await call("POST", "/api/me", **kwargs)
        assert (reply.status, reply.json["name"]) == (200, "dave")


async def test_me_account_unavailable_is_a_fault(server, call):
    server.add_fault(Fault(path="/api/me", status=503, message="account unavailable"))
    reply = await call("POST", "/api/me")
    assert (reply.status, error(reply)) == (503, "account unavailable")


# -- POST /api/signout -----------------------------------------------------------


async def test_signout_answers_null_then_me_asks_to_sign_in(as_alice, alice_server):
    reply = await as_alice("POST", "/api/signout")
    assert (reply.status, reply.content_type, reply.body) == (200, JSON, b"null")
    assert alice_server.user is None
    me = await as_alice("POST", "/api/me")
    assert me.status == 401
    assert me.json == {"error": "unauthorized", "signin_url": SIGNIN_URL}
    again = await as_alice("POST", "/api/signout")
    assert (again.status, error(again)) == (401, "you are not currently signed in")


async def test_signing_in_again_while_serving(server, call):
    assert (await call("POST", "/api/signout")).status == 401
    server.user = FakeUser(name="frank", plan="pro")
    assert (await call("POST", "/api/me")).json["plan"] == "pro"
    assert (await call("POST", "/api/signout")).status == 200


async def test_deprecated_delete_user_key_is_signout(as_alice, alice_server):
    reply = await as_alice("DELETE", "/api/user/keys/c3NoLWVkMjU1MTk")
    assert (reply.status, reply.body) == (200, b"null")
    assert alice_server.user is None
    reply = await as_alice("DELETE", "/api/user/keys/anything")
    assert (reply.status, error(reply)) == (401, "you are not currently signed in")


# -- routing: Gin's 404/405/redirects on these paths --------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/api/me", "POST"),
        ("HEAD", "/api/me", "POST"),
        ("GET", "/api/signout", "POST"),
        ("DELETE", "/api/signout", "POST"),
        ("POST", "/api/status", "GET"),
        ("HEAD", "/api/status", "GET"),
        ("POST", "/", "HEAD, GET"),
        ("GET", "/api/user/keys/abc", "DELETE"),
        ("POST", "/api/user/keys/abc", "DELETE"),
    ],
)
async def test_wrong_method_is_405(call, method, path, allow):
    reply = await call(method, path)
    assert (reply.status, reply.headers["Allow"]) == (405, allow)
    if method != "HEAD":
        assert reply.content_type == "text/plain"
        assert reply.body == b"405 method not allowed"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/user/keys/"),
        ("DELETE", "/api/user/keys/a/b"),
        ("DELETE", "/api/user/keys"),
        ("GET", "/api/me/"),  # no GET route for /api/me: no redirect either
        ("POST", "/api/account"),
    ],
)
async def test_unknown_paths_are_404(call, method, path):
    reply = await call(method, path)
    assert (reply.status, reply.body) == (404, b"404 page not found")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/api/me/", 307),
        ("POST", "/api/signout/", 307),
        ("GET", "/api/status/", 301),
        ("DELETE", "/api/user/keys/abc/", 307),
    ],
)
async def test_trailing_slash_redirects(call, method, path, status):
    reply = await call(method, path)
    assert (reply.status, reply.headers["Location"]) == (status, path[:-1])


# -- HEAD / (the Go client's Heartbeat) ------------------------------------------------


async def test_heartbeat_head_root(call):
    reply = await call("HEAD", "/")
    assert reply.status == 200
    assert reply.content_type == "text/plain; charset=utf-8"
    # net/http drops the body of a HEAD but keeps the length of what the
    # handler wrote ("Ollama is running").
    assert reply.headers["Content-Length"] == "17"
    assert reply.body == b""


# -- POST /api/show with system and options ----------------------------------------


async def _show(call, **body):
    reply = await call("POST", "/api/show", json={"model": "qwen3:8b", **body})
    assert (reply.status, reply.content_type) == (200, JSON), reply.body
    return reply.json


async def test_show_system_replaces_the_models_everywhere(call):
    plain = await _show(call)
    shown = await _show(call, system="Answer in French.")
    assert shown["system"] == "Answer in French."
    assert "SYSTEM Answer in French." in shown["modelfile"].splitlines()
    assert shown["parameters"] == plain["parameters"]
    assert "system" not in await _show(call)  # nothing was stored


@pytest.mark.parametrize("system", ["", None])
async def test_show_empty_system_changes_nothing(call, system):
    shown = await _show(call, system=system)
    assert "system" not in shown
    assert "\nSYSTEM " not in shown["modelfile"]


async def test_show_options_reach_the_modelfile_but_not_parameters(call):
    plain = await _show(call)
    shown = await _show(
        call,
        options={
            "temperature": 0.2,
            "num_ctx": 1000000,
            "stop": ["<a>", "b c"],
            "use_mmap": False,
            "seed": None,
            "made_up": {"x": 1},
        },
    )
    # GetModelInfo writes "parameters" before it merges the request's options.
    assert shown["parameters"] == plain["parameters"]
    assert "temperature                    0.6" in shown["parameters"].splitlines()
    params = [
        line for line in shown["modelfile"].splitlines() if line.startswith("PARAMETER")
    ]
    assert params == [
        "PARAMETER made_up map[x:1]",
        "PARAMETER num_ctx 1e+06",
        "PARAMETER repeat_penalty 1",
        "PARAMETER seed <nil>",
        "PARAMETER stop <a>",
        "PARAMETER stop b c",
        "PARAMETER temperature 0.2",
        "PARAMETER top_k 20",
        "PARAMETER top_p 0.95",
        "PARAMETER use_mmap false",
    ]
    assert plain["modelfile"] == (await _show(call))["modelfile"]  # not stored


async def test_show_options_must_be_an_object(call):
    reply = await call("POST", "/api/show", json={"model": "qwen3:8b", "options": 5})
    assert (reply.status, error(reply)) == (
        400,
        "json: cannot unmarshal number into Go struct field ShowRequest.options "
        "of type map[string]interface {}",
    )


async def test_show_modelfile_quotes_as_the_go_parser(http):
    model = FakeModel(
        name="quoted",
        template="{{ .Prompt }}",
        license="line one\nline two",
        messages=[{"role": "user", "content": "hi there"}],
    )
    async with FakeOllama(models=[model]) as fake:

        async def modelfile(system):
            url = fake.url + "/api/show"
            async with http.post(url, json={"model": "quoted", "system": system}) as r:
                return (await r.json())["modelfile"].split("\n\n", 1)[1]

        lines = (await modelfile("plain text")).splitlines()
        assert lines[1:] == [
            "TEMPLATE {{ .Prompt }}",
            "SYSTEM plain text",
            'LICENSE "line one',
            'line two"',
            "MESSAGE user hi there",
        ]
        assert 'SYSTEM "two\nlines"\n' in await modelfile("two\nlines")
        assert 'SYSTEM """say "hi"\nthen"""\n' in await modelfile('say "hi"\nthen')
        assert 'SYSTEM " padded"\n' in await modelfile(" padded")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1"),
        (-2, "-2"),
        (0, "0"),
        (0.95, "0.95"),
        (1.5, "1.5"),
        (123456, "123456"),
        (999999, "999999"),
        (1000000, "1e+06"),
        (1234567, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-0.000015, "-1.5e-05"),
        (1e21, "1e+21"),
        (True, "true"),
        ("s", "s"),
        (None, "<nil>"),
        ([1, "a"], "[1 a]"),
        ({"b": 2, "a": [True]}, "map[a:[true] b:2]"),
    ],
)
def test_go_v_formats_json_values_as_fmt_does(value, text):
    assert _go_v(value) == text
