"""Streamlit pieces of the pfs app (``app.py`` stays a thin entry point).

The app never computes finance itself: it edits a :class:`~pfs.scenario.Scenario`
(:mod:`pfs.ui.widgets`, :mod:`pfs.ui.edits`), calls :func:`pfs.simulate` through the
caches of :mod:`pfs.ui.state`, and draws :class:`~pfs.results.Results`
(:mod:`pfs.ui.charts`, :mod:`pfs.ui.views`). :func:`pfs.ui.page.main` puts the page
together.
"""
