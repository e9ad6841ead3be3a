"""Every command's --help says what it does, with an example (issue 8)."""
import pytest

from cnnlab.cli import main


@pytest.mark.parametrize("command", [["costs"], ["build"], ["grade"], ["quiz"],
                                     ["quiz", "generate"], ["quiz", "grade"], ["mutants"],
                                     ["demo"], ["doctor"]], ids=" ".join)
def test_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "example: cnnlab " + command[0] in text


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "costs" in capsys.readouterr().out
