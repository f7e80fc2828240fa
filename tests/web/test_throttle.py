"""Throttling on a hostile LAN: nobody locks the technician out without a credential, API
tokens and form logins are counted apart, bursts and floods of addresses gain nothing, and
the setup code works once, all checked with real threads against the real server."""

from __future__ import annotations

import threading

import requests

from pi_agent.web.auth import Throttle

from .conftest import PASSWORD, Rig, bearer, page_csrf, served


def test_requests_without_a_credential_cannot_lock_the_technician_out(rig: Rig) -> None:
    rig.auth.set_password(PASSWORD)
    api = rig.app.test_client()
    preflight = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    for _ in range(150):
        assert api.get("/api/v1/status").status_code == 401
        assert api.options("/api/v1/settle", headers=preflight).status_code == 401
    rig.login()  # the right password goes straight in


def test_bad_tokens_and_bad_passwords_are_throttled_apart(rig: Rig) -> None:
    rig.auth.set_password(PASSWORD)
    _, token = rig.auth.create_token("till", {"read"})
    api = rig.app.test_client()
    assert [api.get("/api/v1/status", headers=bearer(f"sg_guess{n}")).status_code
            for n in range(6)] == [401] * 5 + [429]  # fmt: skip
    rig.login()  # the form login is not locked by the API's failures
    rig.post("/logout")
    csrf = rig.csrf()
    for n in range(6):
        rig.client.post("/login", data={"csrf": csrf, "password": f"guess {n}"})
    assert rig.client.post("/login", data={"csrf": csrf, "password": PASSWORD}).status_code == 429
    rig.time.now += 3600
    assert api.get("/api/v1/status", headers=bearer(token)).status_code == 200


def test_a_valid_token_never_resets_the_login_throttle(rig: Rig) -> None:
    rig.auth.set_password(PASSWORD)
    _, token = rig.auth.create_token("till", {"read"})
    csrf = rig.csrf()
    for n in range(5):
        assert (
            rig.client.post("/login", data={"csrf": csrf, "password": f"x {n}"}).status_code == 401
        )
    for _ in range(3):
        rig.time.now += 60  # the wait is over, but the count stays
        assert rig.client.post("/login", data={"csrf": csrf, "password": "y"}).status_code == 401
        api = rig.app.test_client()
        assert api.get("/api/v1/status", headers=bearer(token)).status_code == 200
        assert rig.client.post("/login", data={"csrf": csrf, "password": "z"}).status_code == 429


def test_a_burst_of_wrong_passwords_reaches_the_check_only_free_times(rig: Rig) -> None:
    rig.auth.set_password(PASSWORD)
    with served(rig) as base:
        sessions = [requests.Session() for _ in range(10)]
        tokens = [page_csrf(s.get(base + "/login", timeout=10).text) for s in sessions]
        start = threading.Barrier(len(sessions))
        codes: list[int] = []

        def guess(s: requests.Session, csrf: str) -> None:
            start.wait()
            r = s.post(base + "/login", data={"csrf": csrf, "password": "wrong guess"},
                       allow_redirects=False, timeout=30)  # fmt: skip
            codes.append(r.status_code)

        threads = [
            threading.Thread(target=guess, args=pair) for pair in zip(sessions, tokens, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(codes) == [401] * 5 + [429] * 5


def test_one_setup_code_sets_the_password_once(rig: Rig) -> None:
    with served(rig) as base:
        sessions = [requests.Session() for _ in range(6)]
        tokens = [page_csrf(s.get(base + "/setup", timeout=10).text) for s in sessions]
        code = rig.setup.code
        start = threading.Barrier(len(sessions))
        won: list[str] = []

        def claim(n: int) -> None:
            password = f"password number {n}"
            start.wait()
            r = sessions[n].post(base + "/setup", data={
                "csrf": tokens[n], "code": code, "password": password, "again": password,
            }, allow_redirects=False, timeout=30)  # fmt: skip
            # A loser is sent on too (a password exists now), but not logged in.
            if (
                r.status_code == 302
                and sessions[n].get(base + "/", allow_redirects=False, timeout=30).status_code
                == 200
            ):
                won.append(password)

        threads = [threading.Thread(target=claim, args=(n,)) for n in range(len(sessions))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert len(won) == 1
    assert rig.auth.check_password(won[0])  # the one who was told "set" is the one that holds


def test_a_throttled_client_is_never_forgotten_for_a_flood_of_others() -> None:
    clock = [0.0]
    th = Throttle(free=5, clock=lambda: clock[0], clients=1024)
    for _ in range(7):
        clock[0] += 100  # each after its wait: all seven are checked
        assert th.attempt("attacker") == 0
    assert th.wait("attacker") == 4.0
    for n in range(1030):
        th.attempt(f"10.0.{n // 256}.{n % 256}")
    assert th.wait("attacker") > 0
    assert th.attempt("attacker") > 0  # no fresh tries


def test_a_full_table_throttles_unknown_clients_together() -> None:
    clock = [0.0]
    th = Throttle(free=2, cap=60.0, clock=lambda: clock[0], clients=4, forget=600.0)
    for name in "abcd":
        th.attempt(name)
    # Full of live entries: newcomers share one strict count instead of pushing others out.
    assert [th.attempt(f"new{n}") for n in range(3)][:2] == [0.0, 0.0]
    assert th.wait("new99") > 0
    assert th.wait("a") == 0  # known clients keep their own count
    clock[0] += 601  # every entry has expired: room again
    assert th.attempt("new99") == 0 and th.wait("a") == 0
