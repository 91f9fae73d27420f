#!/usr/bin/env bash
# run_python_tests.sh PYTHON TESTS_DIR: the Python binding tests, or exit 77 (skipped)
# with the reason when PYTHON lacks numpy or pytest. pytest's "no tests collected"
# (exit 5) is turned into a failure: a suite that silently runs nothing is broken.
set -uo pipefail
py=$1
tests=$2
if ! "$py" -c "import numpy, pytest" 2>/dev/null; then
  echo "SKIPPED: $py cannot import numpy and pytest (apt-get install python3-numpy python3-pytest)"
  exit 77
fi
"$py" -m pytest -q -p no:cacheprovider "$tests"
rc=$?
if [ $rc = 5 ]; then
  echo "pytest collected no tests in $tests"
  exit 1
fi
exit $rc
