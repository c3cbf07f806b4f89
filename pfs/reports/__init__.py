"""Reports of a simulation to take away: an Excel workbook, an HTML page, chart images.

Every function returns bytes or text, so the app can offer them as downloads and the
CLI can write them (``pfs report``):

- :func:`workbook_bytes` — the ``.xlsx`` workbook (inputs, summary with standard
  errors, budget years, tranches, optional sensitivity, a sample of paths);
- :func:`html_report` — a self-contained HTML page (headline numbers, charts,
  reading, assumptions and sources);
- :func:`chart_images` — the report's charts as PNG, SVG or PDF for slides
  (:func:`charts_zip`: all of them in one ZIP archive).
"""

from pfs.reports.charts import chart_images, charts_zip, report_charts, write_chart_images
from pfs.reports.excel import workbook_bytes, write_workbook
from pfs.reports.html import html_report, write_html_report

__all__ = [
    "chart_images",
    "charts_zip",
    "html_report",
    "report_charts",
    "workbook_bytes",
    "write_chart_images",
    "write_html_report",
    "write_workbook",
]
