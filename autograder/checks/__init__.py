"""Hidden-test logic, one module per assignment. A hidden test cell in a master notebook is
one line that calls `check_<name>(env)` here; each check raises AssertionError with feedback
a student can act on, naming the likely mistake and never the hidden expected value."""
