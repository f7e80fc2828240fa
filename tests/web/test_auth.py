"""Who may use the page: setup code, scrypt passwords, sessions, throttling, tokens, resets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gpiozero import Device

from pi_agent.service import held_at_boot
from pi_agent.web.auth import AuthStore, Throttle, hash_password, verify_password

from .conftest import PASSWORD, Rig, flashes


def test_passwords_are_scrypt_with_a_salt_each_and_checked_in_constant_time() -> None:
    a, b = hash_password("hunter2hunter2"), hash_password("hunter2hunter2")
    assert a != b and a.startswith("scrypt$16384$8$1$")  # a salt per password
    assert verify_password("hunter2hunter2", a) and verify_password("hunter2hunter2", b)
    assert not verify_password("hunter2hunter3", a)
    assert not verify_password("x", "garbage") and not verify_password("x", "md5$1$2$3$4$5")


def test_auth_file_is_private_and_keeps_no_token_in_clear(tmp_path: Path) -> None:
    auth = AuthStore(tmp_path / "web.db")
    try:
        _, token = auth.create_token("till 1", {"read"})
        assert (tmp_path / "web.db").stat().st_mode & 0o777 == 0o600
        assert token.encode() not in (tmp_path / "web.db").read_bytes()
        assert auth.check_token(token).name == "till 1" and auth.check_token(token + "x") is None
    finally:
        auth.close()


def test_first_visit_needs_the_code_from_the_display(rig: Rig) -> None:
    c = rig.client
    assert c.get("/").headers["Location"].endswith("/setup")
    assert c.get("/config").headers["Location"].endswith("/setup")
    code = rig.setup.code
    rig.control._call(lambda: None)  # the code was posted to the loop: it has run now
    assert code and rig.panel.setup_code == code  # the OLED shows it
    assert rig.panel.oled.image.tobytes() != b"\0" * len(rig.panel.oled.image.tobytes())
    csrf = rig.csrf()
    wrong = c.post("/setup", data={"csrf": csrf, "code": "0000 0000", "password": PASSWORD,
                                   "again": PASSWORD})  # fmt: skip
    assert wrong.status_code == 400 and "not the code on the display" in wrong.get_data(True)
    short = c.post("/setup", data={"csrf": csrf, "code": code, "password": "short",
                                   "again": "short"})  # fmt: skip
    assert "at least 8 characters" in short.get_data(True)
    differ = c.post("/setup", data={"csrf": csrf, "code": code, "password": PASSWORD,
                                    "again": PASSWORD + "!"})  # fmt: skip
    assert "differ" in differ.get_data(True) and not rig.auth.has_password()
    ok = c.post("/setup", data={"csrf": csrf, "code": code.replace(" ", ""),
                                "password": PASSWORD, "again": PASSWORD})  # fmt: skip
    assert ok.status_code == 302 and rig.auth.has_password()
    assert c.get("/").status_code == 200  # logged in by setting it
    rig.control._call(lambda: None)
    assert rig.setup.code is None and rig.panel.setup_code is None  # the display is back
    assert c.get("/setup").status_code == 302  # never again while a password exists


def test_login_logout_and_a_wrong_password(rig: Rig) -> None:
    rig.auth.set_password(PASSWORD)
    csrf = rig.csrf()
    bad = rig.client.post("/login", data={"csrf": csrf, "password": "nope nope"})
    assert bad.status_code == 401 and "Wrong password" in bad.get_data(True)
    rig.login()
    assert rig.client.get("/").status_code == 200
    assert rig.post("/logout").status_code == 302
    assert rig.client.get("/").headers["Location"].endswith("/login")


def test_session_cookie_is_httponly_and_samesite_strict(rig: Rig) -> None:
    rig.auth.set_password(PASSWORD)
    csrf = rig.csrf()
    r = rig.client.post("/login", data={"csrf": csrf, "password": PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_brute_force_is_throttled_with_exponential_backoff(rig: Rig) -> None:
    rig.auth.set_password(PASSWORD)
    csrf = rig.csrf()

    def attempt(password: str) -> int:
        return rig.client.post("/login", data={"csrf": csrf, "password": password}).status_code

    assert [attempt(f"guess {n}") for n in range(5)] == [401] * 5  # five are free
    assert attempt(PASSWORD) == 429  # now even the right one waits
    waits = []
    for _ in range(4):
        waits.append(rig.throttle.wait("127.0.0.1"))
        rig.time.now += waits[-1] + 0.01
        assert attempt("still guessing") == 401
        assert attempt("at once again") == 429
    assert waits == [1.0, 2.0, 4.0, 8.0]  # doubling
    rig.time.now += 100
    assert attempt(PASSWORD) == 302  # the owner gets in after the wait; the count resets
    assert rig.throttle.wait("127.0.0.1") == 0


def test_throttle_is_per_client_capped_and_forgets_after_a_while() -> None:
    clock = [0.0]
    th = Throttle(free=2, first=1.0, cap=5.0, clock=lambda: clock[0], clients=3, forget=60.0)
    for _ in range(10):
        clock[0] += 10
        assert th.attempt("a") == 0
    assert th.wait("a") == 5.0 and th.wait("b") == 0  # capped; others unaffected
    clock[0] += 61
    assert th.wait("a") == 0 and th.attempt("a") == 0  # forgotten an hour-ish later


def test_a_password_change_ends_other_sessions(rig: Rig) -> None:
    other = rig.app.test_client()
    rig.login()
    rig.login(other)
    assert other.get("/").status_code == 200
    r = rig.post("/access/password", {"current": PASSWORD, "new": "brand new pass",
                                       "again": "brand new pass"})  # fmt: skip
    assert r.status_code == 303
    assert rig.client.get("/").status_code == 200  # this one goes on
    assert other.get("/").headers["Location"].endswith("/login")  # the other is out
    assert rig.auth.check_password("brand new pass")


def test_api_tokens_are_shown_once_and_work_until_deleted(rig: Rig) -> None:
    rig.login()
    page = rig.post("/access/tokens", {"name": "owner phone", "scope": "read",
                                       "password": PASSWORD}).get_data(True)  # fmt: skip
    token = page.split('<pre class="token">')[1].split("</pre>")[0]
    assert token.startswith("sg_")
    assert token not in rig.client.get("/access").get_data(True)  # never again
    api = rig.app.test_client()
    r = api.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json["level"]
    [row] = rig.auth.tokens()
    assert row["name"] == "owner phone" and row["last_used_at"]
    assert rig.post(f"/access/tokens/{row['id']}/delete").status_code == 303
    assert (
        api.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )


def test_passwd_command_sets_and_resets_the_password(rig: Rig, tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "pi_agent", "passwd", "--config", str(rig.config_path)]
    short = subprocess.run(cli, input="short\nshort\n", capture_output=True, text=True,
                           timeout=60, check=False)  # fmt: skip
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    done = subprocess.run(cli, input=f"{PASSWORD}\n{PASSWORD}\n", capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    rig.login()
    rig.auth.create_token("till", {"read"})
    reset = subprocess.run([*cli, "--reset"], capture_output=True, text=True, timeout=60,
                           check=False)  # fmt: skip
    assert reset.returncode == 0 and "1 API token(s) cleared" in reset.stdout
    assert not rig.auth.has_password() and not rig.auth.tokens()
    # The running page notices: a new setup code on the display, the session is over.
    assert rig.client.get("/").headers["Location"].endswith("/setup")
    rig.control._call(lambda: None)
    assert rig.setup.code and rig.panel.setup_code == rig.setup.code


def test_holding_the_button_at_start_is_needed_for_the_full_time(rig: Rig) -> None:
    from gpiozero.pins.mock import MockFactory

    assert isinstance(Device.pin_factory, MockFactory)
    button = rig.panel.button.button
    assert not held_at_boot(button, seconds=0.2)  # not pressed: no reset, no wait
    pin = button.pin
    pin.drive_low()  # pressed (pull-up: pressed reads low)
    try:
        assert held_at_boot(button, seconds=0.3)
    finally:
        pin.drive_high()
    import threading

    pin.drive_low()
    threading.Timer(0.1, pin.drive_high).start()  # let go too early
    assert not held_at_boot(button, seconds=1.0)


def test_wrong_setup_codes_are_throttled_too(rig: Rig) -> None:
    csrf = rig.csrf()
    for n in range(5):
        rig.client.post("/setup", data={"csrf": csrf, "code": f"{n:08d}", "password": PASSWORD,
                                        "again": PASSWORD})  # fmt: skip
    r = rig.client.post("/setup", data={"csrf": csrf, "code": rig.setup.code,
                                        "password": PASSWORD, "again": PASSWORD})  # fmt: skip
    assert "Too many failed attempts" in r.get_data(True) and not rig.auth.has_password()
    assert flashes(r.get_data(True))
