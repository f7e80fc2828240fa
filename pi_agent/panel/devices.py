"""The parts on the bench: OLED, warning light, buzzer and button, each through one library.

Backends are chosen once, at start-up: luma's dummy device stands in for the OLED and
gpiozero's MockFactory for the pins when no hardware is present.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from gpiozero import LED, Button, Buzzer, TonalBuzzer
from gpiozero.tones import Tone
from PIL import Image

from ..guard.assessment import Level
from ..quietlog import OncePerCause

log = logging.getLogger("settle-guard.panel")

# (on seconds, off seconds) per level; None = silent. WARN: one beep a minute.
ALARM_PATTERNS: dict[Level, tuple[float, float] | None] = {
    Level.OK: None,
    Level.INFO: None,
    Level.WARN: (0.15, 59.85),
    Level.URGENT: (0.15, 9.85),
    Level.OVERDUE: (0.3, 4.7),
    Level.FAULT: (1.0, 29.0),
}


class Oled:
    """A 128x64 I2C OLED (SSD1306, SH1106 or SSD1309 at 0x3C), or luma's in-memory dummy.

    Wiring: VCC 3V3, GND, SDA GPIO2, SCL GPIO3 (I2C bus 1).
    """

    def __init__(self, device: object, missing: str = "") -> None:
        self._device = device
        self.image: Image.Image = Image.new("1", (128, 64))
        # why the display is not there ("" if it is): the guard then guards without it
        self.missing = missing
        self._said = OncePerCause()

    @classmethod
    def create(cls, driver: str, bus: int = 1, address: int = 0x3C, *,
               fallback: bool = False) -> Oled:  # fmt: skip
        """The display; with `fallback`, luma's dummy in its place when it cannot be opened
        (not wired, no I2C bus): a guard without its OLED still guards, beeps and lights."""
        if driver == "emulator":
            return cls(_dummy())
        from luma.core.interface.serial import i2c
        from luma.oled import device as oled

        try:
            return cls(getattr(oled, driver)(i2c(port=bus, address=address)))
        except Exception as exc:  # luma's DeviceNotFoundError, OSError, permission...
            if not fallback:
                raise
            why = f"{driver} not found on I2C bus {bus} at 0x{address:02X}: {exc}"
            log.error("OLED %s; guarding without it (check VCC, GND, SDA, SCL)", why)
            return cls(_dummy(), missing=why)

    def show(self, image: Image.Image) -> None:
        self.image = image
        try:
            self._device.display(image)
        except OSError as exc:  # a loose wire mid-run: the guard goes on, said once
            if self._said.new("display", str(exc)):
                log.error("OLED did not take the picture: %s", exc)
            return
        if self._said.ended("display"):
            log.info("OLED shows again")

    def close(self) -> None:
        cleanup = getattr(self._device, "cleanup", None)
        if cleanup is not None:
            cleanup()


def _dummy() -> object:
    from luma.core.device import dummy

    return dummy(width=128, height=64, mode="1")


class Light:
    """Three LEDs (green, amber, red), each through a 330 ohm resistor to GND.

    OK/INFO green; WARN amber blinking; URGENT red blinking fast; OVERDUE red steady;
    FAULT red steady with amber blinking.
    """

    def __init__(self, green: int, amber: int, red: int) -> None:
        self.green, self.amber, self.red = LED(green), LED(amber), LED(red)
        self.state = "off"

    def show(self, level: Level) -> None:
        state = {Level.OK: "green", Level.INFO: "green", Level.WARN: "amber blink",
                 Level.URGENT: "red blink", Level.OVERDUE: "red",
                 Level.FAULT: "red + amber blink"}[level]  # fmt: skip
        if state == self.state:
            return  # keep a running blink in step
        self.state = state
        for led in (self.green, self.amber, self.red):
            led.off()
        if level in (Level.OK, Level.INFO):
            self.green.on()
        elif level is Level.WARN:
            self.amber.blink(1.0, 1.0)
        elif level is Level.URGENT:
            self.red.blink(0.25, 0.25)
        elif level is Level.OVERDUE:
            self.red.on()
        else:
            self.red.on()
            self.amber.blink(0.5, 0.5)

    def cycle(self, seconds: float = 0.5) -> None:
        """Self-test: each colour in turn."""
        for led in (self.green, self.amber, self.red):
            led.on()
            time.sleep(seconds)
            led.off()
        self.state = "off"

    def close(self) -> None:
        for led in (self.green, self.amber, self.red):
            led.close()


# Pitch per level for a passive buzzer: higher is more pressing; a fault sounds low.
ALARM_TONES: dict[Level, float] = {
    Level.WARN: 880.0, Level.URGENT: 1319.0, Level.OVERDUE: 1760.0, Level.FAULT: 440.0,
}  # fmt: skip


class _TonePattern:
    """Beeps a passive buzzer at one pitch in an on/off rhythm from its own thread
    (gpiozero blinks an active buzzer itself, but a tone needs PWM at a frequency)."""

    def __init__(self, buzzer: TonalBuzzer, hz: float, on: float, off: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(buzzer, Tone(hz), on, off),
                                        name="buzzer", daemon=True)  # fmt: skip
        self._thread.start()

    def _run(self, buzzer: TonalBuzzer, tone: Tone, on: float, off: float) -> None:
        while not self._stop.is_set():
            buzzer.play(tone)
            self._stop.wait(on)
            buzzer.stop()
            self._stop.wait(off)

    def cancel(self) -> None:
        self._stop.set()
        self._thread.join()


class Alarm:
    """A buzzer switched by an NPN transistor from its GPIO (never straight from a pin):
    an active one (it beeps when powered) or a passive one (PWM tones, pitch per level).

    Patterns per level (`ALARM_PATTERNS`); an acknowledgement (snooze) silences it until the
    snooze ends; quiet hours silence everything below OVERDUE.
    """

    def __init__(self, pin: int, scale: float = 1.0, passive: bool = False) -> None:
        self.passive = passive
        self.buzzer: Buzzer | TonalBuzzer = (
            TonalBuzzer(pin, mid_tone=Tone("A5")) if passive else Buzzer(pin)
        )
        self._tones: _TonePattern | None = None
        self.scale = scale  # the demo's fast clock shortens the pauses
        self.state = "silent"

    def sound(self, level: Level, snoozed: bool, quiet: bool) -> None:
        pattern = ALARM_PATTERNS[level]
        if pattern is None or snoozed or (quiet and level not in (Level.OVERDUE, Level.FAULT)):
            state = "silent"
        else:
            state = level.name.lower()
        if state == self.state:
            return
        self.state = state
        self._silence()
        if pattern is not None and state != "silent":
            on, off = pattern
            off = max(0.05, off * self.scale)
            if isinstance(self.buzzer, TonalBuzzer):
                self._tones = _TonePattern(self.buzzer, ALARM_TONES[level], on, off)
            else:
                self.buzzer.blink(on, off)

    def _silence(self) -> None:
        if self._tones is not None:
            self._tones.cancel()
            self._tones = None
        if isinstance(self.buzzer, TonalBuzzer):
            self.buzzer.stop()
        else:
            self.buzzer.off()

    def test(self) -> None:
        if isinstance(self.buzzer, TonalBuzzer):
            self.buzzer.play(Tone(ALARM_TONES[Level.WARN]))
        else:
            self.buzzer.on()
        time.sleep(0.2)
        self._silence()
        self.state = "silent"  # the next sound() starts the level's pattern again

    def close(self) -> None:
        self._silence()
        self.buzzer.close()


class SettleConfirm:
    """Long press asks "settle now?"; a short press within the window confirms."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self.asked_at: float | None = None

    def long_press(self, now: float) -> str:
        self.asked_at = now
        return "ask"

    def short_press(self, now: float) -> str:
        asked, self.asked_at = self.asked_at, None
        return "confirm" if asked is not None and now - asked <= self.window else "ack"

    def asking(self, now: float) -> bool:
        return self.asked_at is not None and now - self.asked_at <= self.window


class AckButton:
    """A push button from its GPIO to GND (internal pull-up). Short press: acknowledge.
    Hold 3 s: "settle now?" on the OLED; a second press confirms."""

    def __init__(
        self, pin: int, on_ack: Callable[[], None], on_settle: Callable[[], None],
        on_ask: Callable[[], None] = lambda: None, hold_time: float = 3.0,
    ) -> None:  # fmt: skip
        self.button = Button(pin, pull_up=True, hold_time=hold_time)
        self.confirm = SettleConfirm()
        self._lock = threading.Lock()
        self._held = False
        self._on_ack, self._on_settle, self._on_ask = on_ack, on_settle, on_ask
        self.button.when_held = self._held_cb
        self.button.when_released = self._released_cb

    def _held_cb(self) -> None:
        with self._lock:
            self._held = True
            self.confirm.long_press(time.monotonic())
        self._on_ask()

    def _released_cb(self) -> None:
        with self._lock:
            if self._held:
                self._held = False
                return
            result = self.confirm.short_press(time.monotonic())
        (self._on_settle if result == "confirm" else self._on_ack)()

    def close(self) -> None:
        self.button.close()
