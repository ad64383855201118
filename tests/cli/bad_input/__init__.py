"""The bad inputs tests/cli/test_bad_input.py feeds the real CLI, one user mistake each."""
