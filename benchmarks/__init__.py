"""Benchmark harness for issue 4 (scripts, not part of the test run or the wheel)."""
