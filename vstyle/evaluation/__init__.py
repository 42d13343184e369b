"""The evaluation harness behind ``vstyle eval``: clips → methods → metrics → report."""
