"""The README's promises about its commands hold in the Makefile."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_can_be_served_elsewhere_and_reset_without_reinstalling():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "make demo HOST=0.0.0.0 PORT=8080" in readme and "make demo-reset" in readme
    assert re.search(r"^HOST \?= ", makefile, re.M) and re.search(r"^PORT \?= ", makefile, re.M)
    reset = re.search(r"^demo-reset:\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "rm -f" in reset and ".venv" not in reset and "$(MAKE) demo" in reset


def test_the_readme_walks_a_first_full_cycle():
    readme = (ROOT / "README.md").read_text()
    cycle = readme.split("**A first full cycle**")[1].split("##")[0]
    for login in ("`staff`", "`leader`", "`leadership`", "`inspector`"):
        assert login in cycle
