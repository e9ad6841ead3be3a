"""A red-team catalogue for `cnnlab grade` (tests/test_redteam.py).

Each attack is a `cnn_costs` notebook with every stub left blank (it would honestly score 0)
plus one attack cell (cases.py). The harness (harness.py) grades every attack notebook and
two correct classmates' notebooks in ONE run of the real CLI, in a subprocess watched by
supervise.py, and records what the run did: its records, its exit status, the files it
changed outside the sandbox's temp folders and the processes it left running.
"""
