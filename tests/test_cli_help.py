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


def test_a_reader_that_goes_away_gets_no_traceback():
    """`cnnlab grade --json a b | head -1`: the second record meets a closed pipe."""
    import subprocess
    import sys
    from pathlib import Path

    samples = Path(__file__).resolve().parent.parent / "samples" / "cnn_costs"
    proc = subprocess.Popen([sys.executable, "-m", "cnnlab", "grade", "--json",
                             str(samples / "blank.ipynb"), str(samples / "blank.ipynb")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
