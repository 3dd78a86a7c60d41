"""Progress bars appear on a terminal only: never with --quiet, when piped, or under CI."""

from __future__ import annotations

import io

import pytest

from layoutgen.view.progress import bars_wanted, steps, track


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def no_ci(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)


def test_a_terminal_shows_the_bar_with_its_label() -> None:
    term = Terminal()
    assert bars_wanted(stream=term)
    with steps(3, "routing nets", stream=term) as step:
        for _ in range(3):
            step()
        step(0, label="routing done")
    assert "routing nets" in term.getvalue()


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_ci_means_no_bar_even_on_a_terminal(monkeypatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    term = Terminal()
    with steps(2, "DRC", stream=term) as step:
        step()
        step()
    assert term.getvalue() == "" and not bars_wanted(stream=term)


def test_ci_false_or_empty_keeps_bars(monkeypatch) -> None:
    for value in ("", "0", "false"):
        monkeypatch.setenv("CI", value)
        assert bars_wanted(stream=Terminal())


def test_quiet_or_a_pipe_means_no_bar() -> None:
    for quiet, stream in [(True, Terminal()), (False, io.StringIO())]:
        with steps(None, "wafer", quiet=quiet, stream=stream) as step:
            step(5, label="wafer: 5 shots")
        assert stream.getvalue() == ""


def test_track_yields_every_item_with_or_without_a_bar() -> None:
    items = ["n1", "n2", "n3"]
    assert list(track(items, "nets", stream=Terminal())) == items
    assert list(track(iter(items), "nets", quiet=True)) == items
