"""Ctrl-C while WeasyPrint warms up in the main process (before a local build forks its
workers; just after a queued build has sent its jobs) was lost: WeasyPrint takes any
exception raised while it draws an SVG for a failure of the picture, KeyboardInterrupt
included, and the build went on to the end (a CI run of test_queue.py's Ctrl-C test
showed it: exit code 0 instead of 130). `pdf.warm_up` now holds Ctrl-C back until it is
done, then it is delivered."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import ROOT

# Ctrl-C (SIGINT to itself) at the moment WeasyPrint draws the warm-up's SVG
SCRIPT = textwrap.dedent(f"""
    import os, signal, sys
    sys.path.insert(0, {str(ROOT)!r})
    from weasyprint import svg
    from guidepress import pdf
    drawn = svg.SVG.draw
    def draw(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return drawn(self, *args, **kwargs)
    svg.SVG.draw = draw
    try:
        pdf.warm_up()
    except KeyboardInterrupt:
        print("interrupted after", signal.pthread_sigmask(signal.SIG_BLOCK, set()))
    else:
        print("lost")
""")


def test_ctrl_c_during_the_warm_up_is_delivered_when_it_ends() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    # delivered, and SIGINT no longer held back afterwards (an empty mask)
    assert result.stdout.strip() == "interrupted after set()"
