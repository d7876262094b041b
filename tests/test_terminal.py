"""chatlab connect's terminal shows what a server sends without obeying its control characters."""
import unicodedata

from chatlab import terminal
from chatlab.terminal import Terminal, printable


def test_printable_replaces_exactly_the_control_characters_but_tab():
    for code in range(0x110000):
        char = chr(code)
        control = unicodedata.category(char) == "Cc" and char != "\t"
        assert printable(char) == ("\ufffd" if control else char), f"U+{code:04X}"


def test_a_line_with_escape_sequences_is_shown_neutralised(capsys):
    Terminal().show("[mallory] hi\x1b[2J\x1b[31m\tthere\r[alice] fake")
    assert capsys.readouterr().out == "[mallory] hi\ufffd[2J\ufffd[31m\tthere\ufffd[alice] fake\n"


def test_at_a_terminal_only_the_terminals_own_escape_sequences_are_written(capsys, monkeypatch):
    class FakeReadline:
        @staticmethod
        def get_line_buffer():
            return "half typ"

    monkeypatch.setattr(terminal, "readline", FakeReadline)
    term = Terminal()
    term.interactive, term.prompt = True, "> "
    term.show("hi\x1b[2J")
    assert capsys.readouterr().out == f"{terminal.CLEAR_LINE}hi\ufffd[2J\n> half typ"
