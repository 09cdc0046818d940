"""The PDF form of a report: a cover, the charts, then the table, laid out for print.

Charts are drawn by matplotlib (Agg, no display, no pyplot state) into PNG images
that reportlab places on the page (``chart_image``, which draws the console's SVG
charts too); the table repeats its header on every page.
"""

from __future__ import annotations

import functools
import io
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

# reportlab ships no type information (types-reportlab is not a dependency).
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Image,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ledger.reports.formats import Progress, header, plain
from ledger.reports.registry import Chart, ReportData

# Table text: the first of these sizes at which the table fits the page (portrait,
# then landscape), in the DejaVu Sans that matplotlib ships (it covers Arabic).
_SIZES = (7.0, 6.5, 6.0, 5.5)
_PAD = 13  # a cell's left and right padding together (reportlab's 6 + 6), and 1 pt to spare
_WIDEST_TEXT: float = 90 * mm  # a text column grows to fit its longest value up to this
_WIDEST_WORD: float = 50 * mm  # a single word wider than this may break (a URL, a hash)
_SAMPLE = 5000  # rows measured for the columns' widths (and every totals row)
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


@functools.cache
def fonts() -> tuple[str, str]:
    """The regular and bold fonts of every PDF, registered once per process: DejaVu
    Sans from matplotlib's own data (so nothing needs installing), which has the
    Arabic letters' presentation forms that ``shown`` draws."""
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont("LedgerSans", str(ttf / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("LedgerSans-Bold", str(ttf / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily("LedgerSans", normal="LedgerSans", bold="LedgerSans-Bold")
    return "LedgerSans", "LedgerSans-Bold"


def shown(text: str) -> str:
    """Text as a PDF draws it. reportlab lays glyphs out left to right, one per
    character: Arabic (and Hebrew) is shaped into its joined letter forms
    (arabic-reshaper) and put in display order (python-bidi), so that an Arabic
    name prints as it reads, not as isolated letters in reverse."""
    if not _RTL.search(text):
        return text
    import arabic_reshaper  # type: ignore[import-untyped]
    from bidi import get_display  # type: ignore[import-untyped]

    return str(get_display(arabic_reshaper.reshape(text)))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal) and value.as_tuple().exponent != 0:
        return f"{value:,}"  # grouped, every decimal kept
    return str(plain(value))


def _widest_word(text: str, width: Callable[[str], float]) -> float:
    """The width ``text`` cannot be narrowed below: its longest word (up to
    `_WIDEST_WORD`), or all of it if it is right-to-left (up to `_WIDEST_TEXT`)."""
    if _RTL.search(text):
        return min(width(text), _WIDEST_TEXT)
    return max((min(width(w), _WIDEST_WORD) for w in text.split()), default=_PAD)


def column_widths(
    titles: list[str],
    cells: list[list[str]],
    numeric: set[int],
    available: float,
    size: float = _SIZES[0],
) -> tuple[list[float], float]:
    """Each column's width, from its content: a number column as wide as its widest
    figure (never cut), a header never narrower than its longest word (never broken
    inside a word), a text column as wide as its longest value up to `_WIDEST_TEXT`,
    narrowed towards its longest word when the page is too narrow. Returns the
    widths and how much wider than ``available`` the narrowest table is (0: fits)."""
    regular, bold = fonts()

    def width(text: str, font: str = regular) -> float:
        return float(pdfmetrics.stringWidth(shown(text), font, size)) + _PAD

    least, want = [], []
    for i, title in enumerate(titles):
        column = [row[i] for row in cells if row[i]]
        head_word = max((width(w, bold) for w in title.split()), default=_PAD)
        if i in numeric:
            need = max([head_word, *(width(v) for v in column)])
            least.append(need)
            want.append(max(need, width(title, bold)))
            continue
        longest = max((width(v) for v in column), default=_PAD)
        # Right-to-left text is not wrapped (reportlab would break the display order
        # across lines): it counts as one word.
        word = max((_widest_word(v, width) for v in column), default=_PAD)
        least.append(max(head_word, word))
        want.append(max(least[-1], min(longest, _WIDEST_TEXT), min(width(title, bold), 60 * mm)))
    spare = available - sum(want)
    if spare >= 0:
        # Room to spare goes to the text columns, which then wrap less.
        texts = [i for i in range(len(titles)) if i not in numeric] or list(range(len(titles)))
        grown = list(want)
        for i in texts:
            grown[i] += spare / len(texts)
        return grown, 0.0
    give = sum(w - m for w, m in zip(want, least, strict=True))
    short = sum(want) - available
    if give >= short:
        return [w - (w - m) * short / give for w, m in zip(want, least, strict=True)], 0.0
    return least, sum(least) - available


def render_pdf(data: ReportData, progress: Progress | None = None) -> bytes:
    styles = getSampleStyleSheet()
    regular, bold = fonts()
    numeric = {i for i, c in enumerate(data.columns) if c.kind in ("money", "percent", "int")}
    titles = [c.title for c in data.columns]
    body = [[_text(c.shown(row.get(c.key))) for c in data.columns] for row in data.rows]
    totals = []
    for total in data.totals:
        cells = [_text(total.get(c.key)) for c in data.columns]
        if not cells[0]:
            cells[0] = str(total["label"])
        totals.append(cells)
    measured = body[:_SAMPLE] + totals
    # The first layout at which the table fits: portrait (unless the report is
    # landscape), then landscape, then smaller type.
    layouts = [(landscape(A4), size) for size in _SIZES]
    if not data.report.landscape:
        layouts.insert(0, (A4, _SIZES[0]))
    for page, size in layouts:
        widths, over = column_widths(titles, measured, numeric, page[0] - 24 * mm, size)
        if over <= 0:
            break
    out = io.BytesIO()
    info = header(data)
    doc = SimpleDocTemplate(
        out,
        pagesize=page,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"{data.report.title} - {data.fund_name or 'all funds'}",
        author=data.generated_by or "",
    )
    story: list[Any] = [
        Paragraph(escape(data.report.title), styles["Title"].clone("title", fontName=bold)),
        Paragraph(
            escape(data.report.description), styles["BodyText"].clone("intro", fontName=regular)
        ),
        Spacer(1, 8 * mm),
    ]
    cover = [
        ["Fund", f"{data.fund_name} (id {data.fund_id})" if data.fund_id else "all funds"],
        ["Base currency", data.base_currency or "-"],
        ["As of", info["as_of"] or "all dates (no as-of date given)"],
        ["Generated at", info["generated_at"] + " (UTC)"],
        ["Generated by", data.generated_by or "-"],
        ["Audit chain head", f"seq {data.chain_head[0]}, sha256 {data.chain_head[1]}"],
        [
            "Latest signed checkpoint",
            "none signed yet"
            if data.checkpoint is None
            else f"seq {data.checkpoint[0]}, sha256 {data.checkpoint[1]}, signed "
            f"{plain(data.checkpoint[2])} (UTC)",
        ],
    ]
    for key, value in _notes(data.notes):
        cover.append([key, str(value)])
    cover = [[key, shown(value)] for key, value in cover]
    cover_table = Table(cover, colWidths=[45 * mm, None], hAlign="LEFT")
    cover_table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), regular),
                ("FONTNAME", (0, 0), (0, -1), bold),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [cover_table, PageBreak()]
    if data.report.explanation:
        words = styles["BodyText"].clone("words", fontName=regular, fontSize=10, leading=14)
        story.append(Paragraph("How to read it", styles["Heading2"].clone("how", fontName=bold)))
        story += [Paragraph(escape(text), words) for text in data.report.explanation]
        story.append(PageBreak())

    width = page[0] - 24 * mm
    for chart in data.report.charts:
        png = chart_image(data, chart, "png")
        if png is not None:
            story += [
                Image(io.BytesIO(png), width=width * 0.8, height=width * 0.8 * 0.45),
                Spacer(1, 6 * mm),
            ]
    if data.report.charts:
        story.append(PageBreak())

    cell_style = styles["BodyText"].clone(
        "cell", fontName=regular, fontSize=size, leading=size + 1.5
    )
    head_style = cell_style.clone("head", fontName=bold)

    def cell(text: str, i: int) -> Any:
        if i in numeric or not text:
            return text
        # Wrapped at word boundaries when it is wider than its column (right-to-left
        # text never: its column is as wide as it is).
        if _RTL.search(text):
            return shown(text)
        if pdfmetrics.stringWidth(shown(text), regular, size) + _PAD > widths[i]:
            return Paragraph(escape(shown(text)), cell_style)
        return shown(text)

    table_rows: list[list[Any]] = [[Paragraph(escape(shown(t)), head_style) for t in titles]]
    for n, cells in enumerate(body, 1):
        table_rows.append([cell(text, i) for i, text in enumerate(cells)])
        if progress and n % 1000 == 0:
            progress(1000)
    table_rows += [[cell(text, i) for i, text in enumerate(cells)] for cells in totals]
    if not data.rows:
        table_rows.append(["(no rows)"] + [""] * (len(data.columns) - 1))
    table = Table(table_rows, colWidths=widths, repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), regular),
        ("FONTSIZE", (0, 0), (-1, -1), size),
        ("LEADING", (0, 0), (-1, -1), size + 1.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE4EE")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    style += [("ALIGN", (i, 1), (i, -1), "RIGHT") for i in sorted(numeric)]
    if data.totals:
        first_total = len(table_rows) - len(data.totals)
        style += [
            ("FONTNAME", (0, first_total), (-1, -1), bold),
            ("LINEABOVE", (0, first_total), (-1, first_total), 0.8, colors.black),
        ]
    table.setStyle(TableStyle(style))
    story.append(table)

    def footer(canvas: Any, doc_: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7)
        canvas.drawString(
            12 * mm,
            7 * mm,
            f"{data.report.title} - {data.fund_name or 'all funds'} - as of "
            f"{info['as_of'] or 'all dates'} - generated {info['generated_at']}",
        )
        canvas.drawRightString(page[0] - 12 * mm, 7 * mm, f"page {doc_.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    if progress:
        progress(len(data.rows) % 1000)
    return out.getvalue()


def _notes(notes: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    flat: list[tuple[str, Any]] = []
    for key, value in notes.items():
        label = f"{prefix}{key}".replace("_", " ")
        if isinstance(value, dict):
            flat.extend(_notes(value, label + ": "))
        else:
            flat.append((label, plain(value)))
    return flat


def chart_image(data: ReportData, chart: Chart, fmt: Literal["png", "svg"]) -> bytes | None:
    """A grouped bar chart of ``chart.series`` summed per ``chart.label``, as PNG (the
    PDF's) or SVG (the console's dashboard); None when there is nothing to draw."""
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    by_key = {c.key: c for c in data.columns}
    for row in data.rows:
        if chart.only is not None and row.get(chart.only[0]) != chart.only[1]:
            continue
        column = by_key.get(chart.label)
        value = column.shown(row.get(chart.label)) if column else row.get(chart.label)
        label = str(value or "-")
        for key in chart.series:
            sums[label][key] += row.get(key) or Decimal(0)
    if not sums:
        return None
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "ledger-mpl"))
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    titles = {c.key: c.title for c in data.columns}
    labels = sorted(sums)
    fig = Figure(figsize=(10, 4.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / len(chart.series)
    for i, key in enumerate(chart.series):
        # Plotting needs floats; the figures in the table stay exact.
        values = [float(sums[label][key]) for label in labels]
        positions = [x + (i - (len(chart.series) - 1) / 2) * width for x in range(len(labels))]
        ax.bar(positions, values, width, label=titles.get(key, key))
    # Arabic labels shaped and in display order, as in the table (matplotlib draws
    # glyphs left to right too).
    shown_labels = [shown(_short(label)) for label in labels]
    ax.set_xticks(range(len(labels)), shown_labels, rotation=20, ha="right")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v / 1e6:,.1f}M"))
    ax.set_ylabel(f"{data.base_currency or ''} (millions)")
    ax.set_title(chart.title)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    out = io.BytesIO()
    # An SVG keeps its text as paths: the shaped Arabic draws the same everywhere.
    fig.savefig(out, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return out.getvalue()


def _short(label: str) -> str:
    return label if len(label) <= 24 else label[:23] + "…"
