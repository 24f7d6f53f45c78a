"""The benchmark run of lightboard (`make bench`): not part of the test suite."""
