"""pfs: Pay for Success contract simulator, the Streamlit app (``make app``).

A thin entry point: everything lives in :mod:`pfs.ui`. The app edits a scenario,
calls :func:`pfs.simulate` and draws the results; it never computes finance itself.
"""

from pfs.ui.page import main

main()
