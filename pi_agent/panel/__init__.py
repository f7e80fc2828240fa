"""The cashier's panel: OLED, warning light, buzzer and button behind one `Panel`.

`Panel.from_config` picks the backends once: real pins on a Pi, gpiozero's MockFactory
elsewhere (or when GPIOZERO_PIN_FACTORY=mock); a real OLED driver, or luma's dummy for
`display = "emulator"`. The agent calls `show()`; the button posts to the agent.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from ..config import Config
from ..guard.assessment import Assessment
from .devices import AckButton, Alarm, Light, Oled
from .screens import PAGE_SECONDS, Screen, screen, setup_screen, test_pattern

__all__ = ["Panel"]
log = logging.getLogger("settle-guard.panel")
GPIO_CHIP = Path("/dev/gpiochip0")


def _choose_pin_factory(probe_pin: int) -> None:
    """Mock pins where there is no GPIO hardware; decided once, before any device exists.

    Where there is a GPIO chip but no library can drive it for this process (Debian's own
    kernel has no /dev/gpiomem, and lgpio is not packaged there), mock pins too, said
    once: a guard without its light still guards, and its page and OLED still tell."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    if isinstance(Device.pin_factory, MockFactory):
        return
    wants_mock = os.environ.get("GPIOZERO_PIN_FACTORY") == "mock"
    if not wants_mock and GPIO_CHIP.exists():
        try:
            Device.ensure_pin_factory()
            Device.pin_factory.pin(probe_pin).close()  # type: ignore[union-attr]
            return
        except Exception as exc:
            log.error("the GPIO pins cannot be driven here (%s): the light, buzzer and "
                      "button do nothing", exc)  # fmt: skip
            if Device.pin_factory is not None:
                Device.pin_factory.close()
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)


class Panel:
    def __init__(self, cfg: Config, oled: Oled, light: Light, alarm: Alarm, *,
                 on_ack: Callable[[], None], on_settle: Callable[[], None]) -> None:  # fmt: skip
        self.cfg = cfg
        self.oled, self.light, self.alarm = oled, light, alarm
        self._lock = threading.Lock()
        self._last: tuple[Assessment, str | None, str | None] | None = None
        self.setup_code: str | None = None  # shown while the web page has no password
        self.setup_where = ("", "")  # the page's address and port, shown with the code
        self._turn: threading.Timer | None = None  # the next page of a screen with several
        self._closed = False
        self.button = AckButton(cfg.panel.button_pin, on_ack, on_settle, on_ask=self._redraw)

    @classmethod
    def from_config(cls, cfg: Config, on_ack: Callable[[], None],
                    on_settle: Callable[[], None], alarm_scale: float = 1.0) -> Panel:  # fmt: skip
        p = cfg.panel
        _choose_pin_factory(p.button_pin)
        return cls(
            cfg,
            Oled.create(p.display, p.i2c_bus, p.oled_address, fallback=True),
            Light(p.light_green, p.light_amber, p.light_red),
            Alarm(p.buzzer_pin, alarm_scale, passive=p.passive_buzzer),
            on_ack=on_ack,
            on_settle=on_settle,
        )

    @property
    def image(self) -> Image.Image:
        return self.oled.image

    def show(self, assessment: Assessment, progress: str | None, prompt: str | None) -> None:
        with self._lock:
            self._last = (assessment, progress, prompt)
            self._draw()
            self.light.show(assessment.level)
            self.alarm.sound(assessment.level, assessment.snoozed, assessment.quiet)

    def _screen(self) -> Screen | None:
        """What the OLED shows now (the screens are pure: the pages turn here)."""
        lang = self.cfg.panel.locale
        if self._last is None:
            if self.setup_code is None:
                return None
            return setup_screen(self.setup_code, lang, *self.setup_where)
        assessment, progress, prompt = self._last
        if self.button.confirm.asking(time.monotonic()):
            prompt = "settle-now"
        local = assessment.at.astimezone(self.cfg.zone)
        if self.setup_code is not None and prompt is None and progress is None:
            return setup_screen(self.setup_code, lang, *self.setup_where, level=assessment.level,
                                local=local)  # fmt: skip
        return screen(assessment, local, lang, progress, prompt)

    def _draw(self) -> None:
        """Draw the current screen's page for now; with more than one page, come back when
        the next is due (the agent's tick may be minutes away while a settlement runs)."""
        if self._turn is not None:
            self._turn.cancel()
            self._turn = None
        shown = self._screen()
        if shown is None:
            return
        now = time.monotonic()
        self.oled.show(shown.image(int(now // PAGE_SECONDS)))
        if shown.pages > 1 and not self._closed:
            self._turn = threading.Timer(PAGE_SECONDS - now % PAGE_SECONDS + 0.01, self._next_page)
            self._turn.daemon = True
            self._turn.start()

    def _next_page(self) -> None:
        with self._lock:
            if not self._closed:
                self._draw()

    def _redraw(self) -> None:
        if self._last is not None:
            self.show(*self._last)

    def redraw(self) -> None:
        """Show the last assessment again (after a self-test took the OLED, light or buzzer)."""
        self._redraw()

    def show_setup(self, code: str | None, host: str = "", port: str = "") -> None:
        """The web page's one-time setup code instead of the usual screen (None: back to it).
        A settling progress or the settle prompt still takes precedence."""
        with self._lock:
            self.setup_code, self.setup_where = code, (host, port)
            self._draw()
        if code is not None and self.oled.missing:
            # Nowhere else to show it: only root reads the journal, and root can reset the
            # page's password anyway. A guard with its OLED never logs the code.
            log.warning("no OLED (%s): the web page's setup code is %s", self.oled.missing, code)

    def test_pattern(self) -> None:
        """OLED self-test: every other pixel lit, a frame and the words; `redraw()` ends it."""
        with self._lock:
            if self._turn is not None:  # no page turn draws over it
                self._turn.cancel()
                self._turn = None
            self.oled.show(test_pattern())

    def light_state(self) -> str:
        return self.light.state

    def alarm_state(self) -> str:
        return self.alarm.state

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._turn is not None:
                self._turn.cancel()
        self.button.close()
        self.alarm.close()
        self.light.close()
        self.oled.close()
