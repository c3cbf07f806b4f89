"""The "About this deal" panel: description, notes, sources, and the deal among real ones.

Stage: drawing. The notes of a preset say which figures were published and which are
assumptions; :func:`note_groups` sorts them by how they are worded (``Published: ...``,
``Assumption (not published): ...``) so the panel can show the two apart. Sources that
are web addresses become links. :func:`benchmark_panel` shows where the deal sits among
real impact bonds on three ratios (:func:`pfs.benchmarking.benchmark_scenario`).
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlparse

import pandas as pd
import streamlit as st

from pfs.advice import advisories
from pfs.scenario import Scenario
from pfs.ui import analyses, fmt, state

NOTE_GROUPS = {
    "published": "What was published",
    "assumption": "Assumptions (not published)",
    "other": "How the model treats the deal",
}
BENCHMARK_GROUPS = {"all": "All real deals", "US": "US deals", "GB": "UK deals"}
BENCHMARK_KEY = "benchmark_group"
_URL = re.compile(r"https?://\S+")


def note_kind(note: str) -> str:
    """``published``, ``assumption`` or ``other``, from how a note starts."""
    head = note.lstrip().lower()
    if head.startswith("published"):
        return "published"
    if head.startswith("assumption"):
        return "assumption"
    return "other"


def note_groups(notes: list[str]) -> dict[str, list[str]]:
    """The notes by kind (in :data:`NOTE_GROUPS` order, empty kinds left out)."""
    groups: dict[str, list[str]] = {kind: [] for kind in NOTE_GROUPS}
    for note in notes:
        groups[note_kind(note)].append(note)
    return {kind: found for kind, found in groups.items() if found}


def escape(text: str) -> str:
    """Text safe for Markdown: dollar signs are money, never the start of a formula."""
    return text.replace("$", "\\$")


def _bold_lead(note: str) -> str:
    """``Published: x`` -> ``**Published:** x`` (the label before the first colon)."""
    text = escape(note)
    lead, colon, rest = text.partition(":")
    if colon and len(lead) <= 60:
        return f"**{lead.strip()}:**{rest}"
    return text


def source_markdown(source: str) -> str:
    """A source as Markdown: a web address becomes a link named by its site and page."""
    match = _URL.search(source)
    if match is None:
        return escape(source)
    url = match.group(0).rstrip(".,;)")
    parts = urlparse(url)
    page = parts.path.rstrip("/").rsplit("/", 1)[-1]
    name = parts.netloc.removeprefix("www.") + (f" › {page}" if page else "")
    return source.replace(url, f"[{name}]({url})")


def about_deal(sc: Scenario) -> None:
    """The description, the notes (published facts apart from assumptions), the sources."""
    st.markdown(escape(sc.description) or "No description.")
    for kind, notes in note_groups(sc.notes).items():
        st.markdown(f"**{NOTE_GROUPS[kind]}**")
        st.markdown("\n".join(f"- {_bold_lead(note)}" for note in notes))
    checks = advisories(sc)
    if checks:
        st.markdown("**Worth a second look**")
        st.markdown("\n".join(f"- {escape(_sentence(c.message))}" for c in checks))
    st.markdown("**Sources**")
    if sc.sources:
        st.markdown("\n".join(f"- {source_markdown(s)}" for s in sc.sources))
    else:
        st.markdown("- None: illustrative numbers for teaching, not a real deal.")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _show_ratio(value: float, kind: str) -> str:
    if not math.isfinite(value):
        return fmt.MISSING
    if kind == "money":
        return fmt.money(value, "USD")
    if kind == "multiple":
        return fmt.multiple(value)
    return f"{value:.1f}"


def benchmark_table(table: pd.DataFrame) -> pd.DataFrame:
    """The benchmark rows formatted for people."""
    rows = []
    for row in table.to_dict(orient="records"):
        kind = str(row["kind"])
        rows.append(
            {
                "Figure": row["label"],
                "This deal": _show_ratio(float(row["scenario"]), kind),
                "Real deals: typical": _show_ratio(float(row["median"]), kind),
                "Middle half of real deals": (
                    f"{_show_ratio(float(row['p25']), kind)} to "
                    f"{_show_ratio(float(row['p75']), kind)}"
                ),
                "Where this deal sits": row["reading"],
            }
        )
    return pd.DataFrame(rows)


def benchmark_panel(sc: Scenario) -> None:
    """Where the deal sits among real impact bonds (capital, payments, term)."""
    st.markdown("**How this deal compares with real impact bonds**")
    state.seed(BENCHMARK_KEY, "all", allowed=BENCHMARK_GROUPS)
    group = st.radio(
        "Compare with",
        list(BENCHMARK_GROUPS),
        format_func=BENCHMARK_GROUPS.__getitem__,
        key=BENCHMARK_KEY,
        horizontal=True,
    )
    table = analyses.benchmark(sc, str(group))
    if table is None:
        st.caption("The figures of real deals are not available in this installation.")
        return
    st.table(benchmark_table(table), hide_index=True)
    st.caption(
        "Capital per participant is in US dollars; the maximum outcome payment counts "
        "every cap in the deal. " + analyses.benchmark_source()
    )
