"""Keys are handled one after the other, in the order typed, even when they come in a burst.

Over a laggy SSH link (or tmux, or mosh) keys reach the app in bursts: ``j s``, the skip reason,
Enter and the next keys together. Textual routes each key to the focused widget when the app takes
it off its queue; the key then bubbles up to the screen and back to the app, where the screen's
own bindings (``s``, space, ``j`` ...) finally act. In a burst the app routes key N+1 before key N
has come back, so:

- the keys typed right after ``s`` go to the list, not to the skip dialog (not composed yet):
  the reason is lost;
- a key bubbling back after a dialog opened meets the dialog's bindings, not the runbook's: the
  tick typed before ``n`` is lost;
- keys typed after Enter land in the dialog that is closing.

``OrderedKeys`` (mixed into the App) holds raw keys and routes the next one only when the
previous one has been handled all the way (its widget, every ancestor, then the app: a callback
is passed along the same queues after it), and, while a dialog typed into (``TypedInto``,
``ui/screens/typing.py``) gets ready or handles an Enter/Escape, until it says so. A watchdog
lets keys go on after ``KEY_HOLD_MAX_S`` whatever happens, so the keyboard never locks up.
"""

from __future__ import annotations

import asyncio
from collections import deque
from functools import partial
from typing import Any, Generic, TypeVar

from textual import events
from textual.app import App
from textual.dom import DOMNode
from textual.screen import Screen

KEY_HOLD_MAX_S = 2.0
"""Longest a key waits for the previous one, or for a dialog (then it goes on regardless)."""

RawInput = events.Key | events.Paste
ReturnT = TypeVar("ReturnT")


class OrderedKeys(App[ReturnT], Generic[ReturnT]):
    """App mixin: one key at a time, each routed once the previous one is fully handled."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held_keys: deque[RawInput] = deque()
        self._key_in_flight = 0  # serial of the key being handled (0: none)
        self._key_serial = 0
        self._waiting_for: Screen[Any] | None = None
        self._key_watchdog: Any = None
        from rsdeploy_tui.ui.collector import IdleCollector

        self.collector = IdleCollector()
        self.leaving_keys: list[str] | None = None
        """Once the app is leaving: the text of keys that came after ``q`` (ui/typeahead.py)."""

    # ------------------------------------------------------------ routing
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            self.collector.key()  # no full garbage collection while keys come in
            if self.leaving_keys is not None:  # for the shell, not for an app leaving
                from rsdeploy_tui.ui.typeahead import key_text

                self.leaving_keys.append(key_text(event))
                return
            self._held_keys.append(event)
            await self._pump_keys()
            return
        await super().on_event(event)

    async def _pump_keys(self) -> None:
        """Route held keys while nothing is in flight and no dialog is awaited."""
        held = self._held_keys
        while held and not self._key_in_flight and self._waiting_for is None:
            event = held.popleft()
            target: DOMNode = self.focused or self.screen
            self._key_serial += 1
            serial = self._key_in_flight = self._key_serial
            self._arm_watchdog()
            if (isinstance(event, events.Key) and event.key in ("enter", "escape")
                    and getattr(self.screen, "TYPED_INTO", False)):
                self._waiting_for = self.screen  # until the dialog has handled this key
            await super().on_event(event)  # priority bindings act here; else forwarded
            self._follow(target, serial)
        if not held and not self._key_in_flight and self._waiting_for is None:
            self._disarm_watchdog()

    def _follow(self, target: DOMNode, serial: int) -> None:
        """Pass a callback along the key's way (target, its ancestors, the app): it runs after
        the key (or its bubbled copy) at each step, so at the end the key is handled."""
        chain: list[DOMNode] = [node for node in target.ancestors_with_self
                                if isinstance(node, DOMNode) and node is not self]

        def step(index: int) -> None:
            while index < len(chain):
                if chain[index].call_later(step, index + 1):
                    return
                index += 1  # gone (removed meanwhile): nothing can be queued behind it there
            self.call_later(self._key_done, serial)

        step(0)

    async def _key_done(self, serial: int) -> None:
        if serial == self._key_in_flight:
            self._key_in_flight = 0
            await self._pump_keys()

    def stop_routing_keys(self) -> None:
        """The app is leaving: keys not yet routed, and those still to come, are kept for the
        shell (``leaving_keys``)."""
        from rsdeploy_tui.ui.typeahead import key_text

        self.leaving_keys = [key_text(event) for event in self._held_keys]
        self._held_keys.clear()

    def exit_behind_typed_keys(self, result: Any = None) -> None:
        """Exit once every key the driver has read is in ``leaving_keys``.

        The driver hands each key to the event loop as its own coroutine
        (``run_coroutine_threadsafe``); a burst read with ``q`` may still be on its way into the
        app's queue while ``q`` is handled, and an ``ExitApp`` posted now would overtake it: the
        app would close with those keys unread, and they were lost (seen on a CI machine). The
        exit is sent the same way, so it queues behind them."""
        callback = events.Callback(callback=partial(self.exit, result))
        asyncio.run_coroutine_threadsafe(self._post_message(callback),
                                         asyncio.get_running_loop())

    # ------------------------------------------------------------ dialogs
    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        """Push a screen; keys wait for a dialog typed into until it has focused its box."""
        if getattr(screen, "TYPED_INTO", False):
            self._waiting_for = screen
            self._arm_watchdog()
        return super().push_screen(screen, *args, **kwargs)

    def release_keys(self, ready: Screen[Any] | None = None) -> None:
        """``ready`` (the awaited dialog; None: whatever) can take keys now."""
        if ready is not None and ready is not self._waiting_for:
            return
        self._waiting_for = None
        self.call_later(self._pump_keys)

    # ------------------------------------------------------------ watchdog
    def _arm_watchdog(self) -> None:
        self._disarm_watchdog()
        self._key_watchdog = self.set_timer(KEY_HOLD_MAX_S, self._unstick_keys)

    def _disarm_watchdog(self) -> None:
        if self._key_watchdog is not None:
            self._key_watchdog.stop()
            self._key_watchdog = None

    async def _unstick_keys(self) -> None:
        """A key or a dialog did not come back in time: let the keys go on."""
        self._key_watchdog = None
        self._key_in_flight = 0
        self._waiting_for = None
        await self._pump_keys()
