"""Sessions live on the server: logout, a password change and "log out everywhere" end them
for good (a saved cookie is worth nothing), and they end after idle time and after 12 h."""

from __future__ import annotations

from .conftest import Rig


def cookie(client) -> str:
    return client.get_cookie("sg_session").value


def test_a_cookie_saved_before_logout_is_worth_nothing_after(rig: Rig) -> None:
    rig.login()
    saved = cookie(rig.client)
    with rig.client.session_transaction() as s:
        old_csrf = s["csrf"]
    assert rig.post("/logout").status_code == 302
    thief = rig.app.test_client()
    thief.set_cookie("sg_session", saved)
    r = thief.get("/config/backup")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    polls = rig.store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    r = thief.post("/tests/poll", data={"csrf": old_csrf})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert rig.store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == polls


def test_sessions_end_after_30_minutes_idle_and_12_hours_in_all(rig: Rig) -> None:
    rig.login()
    rig.time.now += 29 * 60
    assert rig.client.get("/").status_code == 200  # in use: goes on
    rig.time.now += 31 * 60
    assert rig.client.get("/").headers["Location"].endswith("/login")  # idle too long
    rig.login()
    for _ in range(12 * 3):
        rig.time.now += 20 * 60
        if rig.client.get("/").status_code != 200:
            break
    assert rig.client.get("/").headers["Location"].endswith("/login")
    assert 11.9 * 3600 < rig.time.now - 1000 - 60 * 60 <= 12 * 3600 + 20 * 60


def test_the_oled_mirror_alone_does_not_keep_a_session_alive(rig: Rig) -> None:
    rig.login()
    for _ in range(20):
        rig.time.now += 120
        rig.client.get("/oled.png")
    assert rig.client.get("/").headers["Location"].endswith("/login")


def test_log_out_everywhere_ends_every_session(rig: Rig) -> None:
    other = rig.app.test_client()
    rig.login()
    rig.login(other)
    saved = cookie(other)
    assert rig.post("/access/logout-all").status_code == 303
    for client in (rig.client, other):
        assert client.get("/").headers["Location"].endswith("/login")
    thief = rig.app.test_client()
    thief.set_cookie("sg_session", saved)
    assert thief.get("/").status_code == 302
    rig.login()  # a new login works as before
